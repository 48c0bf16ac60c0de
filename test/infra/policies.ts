// Walks every IAM policy document in a synthesized template (identity policies, managed
// policies, roles' inline and trust policies, resource policies such as SQS queue policies).

export interface Statement {
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  Resource?: unknown;
  Principal?: unknown;
}

export interface FoundDocument {
  /** `<resource type> <logical id> <property path>` */
  where: string;
  document: { Statement: Statement[] };
}

interface TemplateJson {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}

export function policyDocuments(template: Partial<TemplateJson>): FoundDocument[] {
  const found: FoundDocument[] = [];
  const walk = (value: unknown, where: string) => {
    if (Array.isArray(value)) {
      for (const [i, item] of value.entries()) walk(item, `${where}[${i}]`);
    } else if (value && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        if (key.endsWith('PolicyDocument') && child && typeof child === 'object') {
          found.push({ where: `${where}.${key}`, document: child as FoundDocument['document'] });
        } else {
          walk(child, `${where}.${key}`);
        }
      }
    }
  };
  for (const [id, resource] of Object.entries(template.Resources ?? {})) {
    walk(resource.Properties, `${resource.Type} ${id}`);
  }
  return found;
}

export function allowStatements(found: FoundDocument): { where: string; statement: Statement }[] {
  return found.document.Statement.filter((s) => s.Effect === 'Allow').map((statement) => ({
    where: found.where,
    statement,
  }));
}

const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': '<region>',
  'AWS::AccountId': '<account>',
};

/** A resource expression as text: GetAtt X.Arn -> X, pseudo parameters -> <region> etc. */
export function renderArn(value: unknown): string {
  if (typeof value === 'string') return value;
  const node = value as Record<string, unknown>;
  if ('Ref' in node) return PSEUDO[node.Ref as string] ?? String(node.Ref);
  if ('Fn::GetAtt' in node) {
    const [id, attribute] = node['Fn::GetAtt'] as [string, string];
    return attribute === 'Arn' ? id : `${id}.${attribute}`;
  }
  if ('Fn::Join' in node) {
    const [separator, parts] = node['Fn::Join'] as [string, unknown[]];
    return parts.map(renderArn).join(separator);
  }
  return JSON.stringify(value);
}

/** renderArn, with a worker-queue ARN shortened to `sqs:<region>:<account>:<name>`. */
export function refName(value: unknown): string {
  return renderArn(value).replace(/^arn:aws:sqs:/, 'sqs:');
}
