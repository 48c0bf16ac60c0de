// Docker's image reference grammar (distribution/reference), as a validator:
//
//   reference  := name [ ":" tag ] [ "@" digest ]
//   name       := [ domain "/" ] path-component ( "/" path-component )*
//   domain     := host [ ":" port ]          host: domain-name | "[" IPv6 "]"
//   path-component := [a-z0-9]+ ( ( [_.] | "__" | "-"+ ) [a-z0-9]+ )*
//   tag        := [\w][\w.-]{0,127}
//   digest     := algorithm ":" hex         (sha256: 64, sha384: 96, sha512: 128 lower-case hex)
//
// The name is at most 255 characters. Nothing is pulled or normalised here: this only says
// whether Docker would accept the text as a reference at all.

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_NAME = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*`;
const IPV6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const DOMAIN = `(?:${DOMAIN_NAME}|${IPV6})(?::[0-9]+)?`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[_.]|__|-+)[a-z0-9]+)*';
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = 'sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128}';

const NAME = new RegExp(`^(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const REFERENCE = new RegExp(
  `^(?<name>(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::${TAG})?(?:@(?:${DIGEST}))?$`,
);
/** The grammar alone (without the name's length limit), for schemas and documents. */
export const IMAGE_REFERENCE = new RegExp(REFERENCE.source.replace('(?<name>', '('));

/** Docker's limit on the name part (registry and path, without tag or digest). */
export const IMAGE_NAME_MAX_LENGTH = 255;
/**
 * With IMAGE_REFERENCE, the name's length limit as a second pattern (no look-ahead, so any
 * JSON Schema tool reads it): only a tag or digest may follow the first 255 characters, and
 * neither can swallow part of a name (a tag has no `/`, the name's only `:` is a port's).
 */
export const IMAGE_NAME_LENGTH = new RegExp(
  `^.{1,${IMAGE_NAME_MAX_LENGTH}}(?::${TAG})?(?:@(?:${DIGEST}))?$`,
);
/** Name, ":" tag and "@" digest at their longest. */
export const IMAGE_REFERENCE_MAX_LENGTH = IMAGE_NAME_MAX_LENGTH + 1 + 128 + 1 + 7 + 128;

/** Why `text` is not an image reference, or undefined when it is one. */
export function imageReferenceProblem(text: string): string | undefined {
  if (text.length === 0) return 'is required';
  if (text.length > IMAGE_REFERENCE_MAX_LENGTH) {
    return `must be at most ${IMAGE_REFERENCE_MAX_LENGTH} characters`;
  }
  const match = REFERENCE.exec(text);
  if (!match) {
    return 'must be a Docker image reference like busybox:1.36 or registry:5000/team/app@sha256:<64 hex>';
  }
  const name = match.groups!.name!;
  if (name.length > IMAGE_NAME_MAX_LENGTH || !NAME.test(name)) {
    return `its repository name must be at most ${IMAGE_NAME_MAX_LENGTH} characters`;
  }
  return undefined;
}

export const isImageReference = (text: string): boolean =>
  imageReferenceProblem(text) === undefined;
