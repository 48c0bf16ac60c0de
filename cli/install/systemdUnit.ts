// The systemd unit and environment file that run `cube worker` as a service on a Linux host.
// Pure text builders plus the two file operations, so tests can write to a temp directory.
import { chmodSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const UNIT_NAME = 'cube-worker.service';
export const DEFAULT_UNIT_DIR = '/etc/systemd/system';
export const DEFAULT_ENV_FILE = '/etc/cube/worker.env';

export interface WorkerServiceSettings {
  apiUrl: string;
  token: string;
  name: string;
  /** `cube worker` flags besides --name: --label k=v, --cpu, --memory, --disk. */
  workerArgs: string[];
  /** The control plane's placement key, pinned (CUBE_CONTROL_PLANE_KEY; docs/SECURITY.md). */
  controlPlaneKey?: string;
  /** This host's own container policy (CUBE_ALLOW_*), whatever the control plane allows. */
  hostPolicy?: Record<string, string>;
  aws: {
    region: string;
    /** A named profile (with `credentialsFile`, or the root user's ~/.aws). */
    profile?: string;
    credentialsFile?: string;
    /** LocalStack or another emulator; unset for AWS itself. */
    endpointUrl?: string;
  };
}

export interface UnitOptions {
  nodePath: string;
  cubeScript: string;
  envFile: string;
  /** Run as this user (in the docker group) instead of root. */
  user?: string;
  /** Absolute path of docs/DEPLOY.md, for `systemctl help cube-worker`. */
  docsPath: string;
}

/** Quotes one ExecStart word: systemd's own quoting, with % and $ taken literally. */
export function unitWord(word: string): string {
  const escaped = word.replaceAll('%', '%%').replaceAll('$', () => '$$');
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(escaped)
    ? escaped
    : `"${escaped.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

export function workerUnit(options: UnitOptions): string {
  const exec = [options.nodePath, options.cubeScript, 'worker'].map(unitWord).join(' ');
  return `# Written by \`cube worker install\`. Settings (URL, token, AWS) live in the
# environment file; edit it and run \`systemctl restart cube-worker\`.
[Unit]
Description=Cube worker: runs the control plane's tasks as Docker containers
Documentation=file://${encodeURI(options.docsPath)}
After=network-online.target docker.service
Wants=network-online.target

[Service]
Type=simple
EnvironmentFile=${unitWord(options.envFile)}
# \${NAME} is one word; $CUBE_WORKER_ARGS splits into the --label/--cpu/... flags.
ExecStart=${exec} --name \${CUBE_WORKER_NAME} $CUBE_WORKER_ARGS
${options.user ? `User=${unitWord(options.user)}\nSupplementaryGroups=docker\n` : ''}Restart=always
RestartSec=5
# SIGTERM stops the worker cleanly (its containers keep running); it waits up to 30 s for
# work under way, so give it a little longer before SIGKILL.
KillMode=mixed
TimeoutStopSec=45

# Hardening that leaves the Docker socket reachable: the containers are dockerd's
# children, not ours, so this process needs no capabilities, devices or namespaces.
# No MemoryDenyWriteExecute: Node's JIT needs writable executable memory.
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
ProtectSystem=strict
ProtectHome=read-only
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK

[Install]
WantedBy=multi-user.target
`;
}

/** One KEY="value" line as systemd's EnvironmentFile parser reads it. */
function envLine(key: string, value: string): string {
  if (/[\r\n]/.test(value)) throw new Error(`${key} must not contain a line break`);
  return `${key}="${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

export function workerEnvFile(settings: WorkerServiceSettings): string {
  const { aws } = settings;
  const lines = [
    '# Written by `cube worker install` (mode 0600: it holds the API token).',
    envLine('CUBE_API_URL', settings.apiUrl),
    envLine('CUBE_TOKEN', settings.token),
    envLine('CUBE_WORKER_NAME', settings.name),
    envLine('CUBE_WORKER_ARGS', settings.workerArgs.join(' ')),
    envLine('AWS_REGION', aws.region),
  ];
  if (settings.controlPlaneKey) {
    lines.push(
      '# The key placements must be signed with; a control plane holding another is refused.',
      envLine('CUBE_CONTROL_PLANE_KEY', settings.controlPlaneKey),
    );
  }
  const policy = Object.entries(settings.hostPolicy ?? {});
  if (policy.length > 0) {
    lines.push('# What this host runs beyond an ordinary container (its own policy).');
    for (const [key, value] of policy) lines.push(envLine(key, value));
  }
  if (aws.profile || aws.credentialsFile) {
    lines.push('# AWS credentials: a profile in a shared credentials file.');
    if (aws.profile) lines.push(envLine('AWS_PROFILE', aws.profile));
    if (aws.credentialsFile)
      lines.push(envLine('AWS_SHARED_CREDENTIALS_FILE', aws.credentialsFile));
  } else {
    lines.push(
      "# AWS credentials: the SDK's default chain (an EC2 instance profile or ECS/IRSA role",
      "# with the stack's WorkerPolicyArn attached). Add AWS_PROFILE=... to use a profile.",
    );
  }
  if (aws.endpointUrl) lines.push(envLine('AWS_ENDPOINT_URL', aws.endpointUrl));
  return `${lines.join('\n')}\n`;
}

/** Writes a file atomically with the given mode (the mode is set before any byte lands). */
function writeFileAtomic(path: string, text: string, mode: number): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const temp = join(dirname(path), `.${process.pid}.${Date.now()}.tmp`);
  try {
    writeFileSync(temp, text, { mode });
    chmodSync(temp, mode);
    renameSync(temp, path);
  } finally {
    rmSync(temp, { force: true });
  }
}

export interface InstalledPaths {
  unitPath: string;
  envFile: string;
}

export function installWorkerService(
  settings: WorkerServiceSettings,
  unit: UnitOptions,
  unitDir: string,
): InstalledPaths {
  const unitPath = join(unitDir, UNIT_NAME);
  const envText = workerEnvFile(settings);
  writeFileAtomic(unit.envFile, envText, 0o600);
  writeFileAtomic(unitPath, workerUnit(unit), 0o644);
  return { unitPath, envFile: unit.envFile };
}

/** Removes the unit and environment file; returns the paths that existed. */
export function uninstallWorkerService(unitDir: string, envFile: string): string[] {
  const removed: string[] = [];
  for (const path of [join(unitDir, UNIT_NAME), envFile]) {
    try {
      rmSync(path);
      removed.push(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return removed;
}
