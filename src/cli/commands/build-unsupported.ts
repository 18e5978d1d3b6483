// What to tell a docker / buildx user whose `kiln build` flag kiln does not have: the flag still
// fails (exit 125, commander's "unknown option"), never silently ignored; this adds the reason
// and what to do instead, for the flags of `docker build` and `docker buildx build` that kiln
// leaves out on purpose.

/** Flags `docker buildx build` takes and ignores (hidden, some with a warning): kiln refuses them instead. */
const IGNORED = (what: string): string => `${what}; docker buildx build accepts and ignores this flag, kiln refuses it rather than drop it silently: build without it`;
const ATTESTATIONS = 'kiln does not make attestations (SBOM, provenance): build without it; an SBOM tool can scan the image afterwards';

const HINTS: Readonly<Record<string, string>> = {
  '--load':
    'kiln keeps the image in its own store (kiln images); for Docker, write an archive and load it: kiln build -o type=docker,dest=image.tar … && docker load -i image.tar',
  '--squash': IGNORED('kiln does not squash layers (an experimental flag of the legacy builder; a multi-stage Dockerfile keeps the final image lean instead)'),
  '--sbom': ATTESTATIONS,
  '--provenance': ATTESTATIONS,
  '--attest': ATTESTATIONS,
  '--memory': IGNORED('kiln does not limit the resources of RUN steps'),
  '--memory-swap': IGNORED('kiln does not limit the resources of RUN steps'),
  '--cpu-shares': IGNORED('kiln does not limit the resources of RUN steps'),
  '--cpu-period': IGNORED('kiln does not limit the resources of RUN steps'),
  '--cpu-quota': IGNORED('kiln does not limit the resources of RUN steps'),
  '--cpuset-cpus': IGNORED('kiln does not limit the resources of RUN steps'),
  '--cpuset-mems': IGNORED('kiln does not limit the resources of RUN steps'),
  '--isolation': IGNORED('kiln has one isolation: each RUN in its own runc container'),
  '--allow':
    'kiln has no entitlements: RUN --network=host is always allowed, RUN --security=insecure is refused; build without --allow',
  '--builder': 'kiln builds in its own process: there are no builder instances to choose; build without --builder',
  '--call': 'kiln does not run frontend subrequests (lint checks, outlines); build without it',
  '--check': 'kiln does not run frontend subrequests (lint checks, outlines); build without it',
  '--annotation': 'kiln does not write manifest annotations; labels (--label) go into the image config',
  '--compress': IGNORED('kiln reads the build context in place, with no daemon to send it to'),
  '--security-opt': IGNORED('kiln runs every RUN step with its default seccomp profile and capabilities'),
  '--rm': 'kiln always removes each RUN container when its step ends: --rm and --force-rm take no value, and keeping the containers (--rm=false) is not supported',
  '--force-rm': 'kiln always removes each RUN container when its step ends: --rm and --force-rm take no value, and keeping the containers (--rm=false) is not supported',
  '--disable-content-trust': 'kiln does not verify content trust signatures (Docker Content Trust); build without it',
};

/** The hint for an option `kiln build` does not know (`--flag` or `--flag=value`), if it is one of docker's. */
export function unsupportedBuildFlagHint(option: string): string | undefined {
  const name = option.split('=')[0]!;
  const long = name === '-m' ? '--memory' : name === '-c' ? '--cpu-shares' : name;
  return Object.hasOwn(HINTS, long) ? HINTS[long] : undefined;
}
