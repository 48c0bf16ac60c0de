// The /v1/services calls, over the CLI's one API client.
import type { ApiClient } from '../apiClient.js';
import type {
  ApplyDryRun,
  ApplyResult,
  PortEndpoints,
  RevisionInfo,
  ServiceEvent,
  ServiceSummary,
  ServiceView,
} from './types.js';

const at = (name: string, rest = '') => `/services/${encodeURIComponent(name)}${rest}`;

export class ServicesApi {
  constructor(private readonly api: ApiClient) {}

  apply(name: string, spec: unknown, version?: number): Promise<ApplyResult> {
    const query = version === undefined ? '' : `?version=${version}`;
    return this.api.request('PUT', at(name, query), spec);
  }

  dryRun(name: string, spec: unknown): Promise<ApplyDryRun> {
    return this.api.request('PUT', at(name, '?dryRun=true'), spec);
  }

  async list(): Promise<ServiceSummary[]> {
    return (await this.api.request<{ services: ServiceSummary[] }>('GET', '/services')).services;
  }

  get(name: string): Promise<{ service: ServiceView; events: ServiceEvent[] }> {
    return this.api.request('GET', at(name));
  }

  async scale(name: string, replicas: number): Promise<ServiceView> {
    return (
      await this.api.request<{ service: ServiceView }>('POST', at(name, '/scale'), { replicas })
    ).service;
  }

  async rollback(name: string, revision?: number): Promise<ServiceView> {
    const body = revision === undefined ? {} : { revision };
    return (await this.api.request<{ service: ServiceView }>('POST', at(name, '/rollback'), body))
      .service;
  }

  async remove(name: string): Promise<ServiceView> {
    return (await this.api.request<{ service: ServiceView }>('DELETE', at(name))).service;
  }

  async revisions(name: string): Promise<RevisionInfo[]> {
    return (await this.api.request<{ revisions: RevisionInfo[] }>('GET', at(name, '/revisions')))
      .revisions;
  }

  async endpoints(name: string): Promise<PortEndpoints[]> {
    return (await this.api.request<{ ports: PortEndpoints[] }>('GET', at(name, '/endpoints')))
      .ports;
  }
}
