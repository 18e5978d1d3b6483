// The differential cases kiln is known to answer otherwise than BuildKit (Docker 26, BuildKit
// v0.13), with the reason and the exact difference lines (used by buildkit-diff.test.ts).
// Most are deliberate: kiln follows newer BuildKit, refuses what issue #5 asks it to refuse, or
// does not copy a BuildKit 0.13 bug ("perhaps intended" in the reason).
import type { KnownFailure } from '../helpers/conformance-cases.js';

/**
 * Cases kiln is known to get wrong: the reason and the exact difference lines. Each one is
 * still built and compared, and its test asserts that the differences are EXACTLY these: when
 * kiln starts agreeing with BuildKit the test fails and asks for the entry to be removed, and a
 * new difference in the case fails it too. Never skip a case instead.
 */
export const KNOWN_FAILURES = new Map<string, KnownFailure>([
  [
    'add-tar-hostile',
    {
      reason: 'kiln refuses an archive with ../ or absolute names; BuildKit extracts it confined to the destination (../../escape.txt -> /into/escape.txt, /abs-inside.txt -> /into/abs-inside.txt, evil/tmp/x through a symlink to / -> /into/tmp/x)',
      diffs: ['kiln build exited 1: Dockerfile:4: cannot extract "hostile.tar": entry "../../escape.txt" points outside the destination'],
    },
  ],
  [
    'err-copy-exclude-without-labs',
    {
      reason: 'kiln accepts COPY --exclude without `# syntax=docker/dockerfile:1.7-labs`; BuildKit v0.13: "dockerfile parse error on line 3: unknown flag: exclude" (perhaps intended)',
      diffs: ['kiln built the image; BuildKit fails: ERROR: failed to solve: dockerfile parse error on line 3: unknown flag: exclude'],
    },
  ],
  [
    'err-copy-parents-without-labs',
    {
      reason: 'kiln accepts COPY --parents without `# syntax=docker/dockerfile:1.7-labs`; BuildKit v0.13: "dockerfile parse error on line 3: unknown flag: parents" (perhaps intended)',
      diffs: ['kiln built the image; BuildKit fails: ERROR: failed to solve: dockerfile parse error on line 3: unknown flag: parents'],
    },
  ],
  [
    'err-copy-local-dot-git-path',
    {
      reason: 'BuildKit v0.13 reads a source without a scheme whose path ends in .git ("vendor/lib.git") as the Git URL https://vendor/lib.git (gitutil.ParseGitRef) and refuses it for COPY; BuildKit 0.14 made it a local path again ("git: restrict definition of git ref", 8144ab88e), and kiln copies the directory as 0.14 does: a Git source needs an explicit transport (dockerfile/git-ref.ts gitSourceRef)',
      diffs: ["kiln built the image; BuildKit fails: ERROR: failed to solve: source can't be a git ref for COPY"],
    },
  ],
  [
    'copy-multi-no-slash',
    {
      reason: 'kiln rejects several COPY sources with a destination not ending in / (the legacy builder rule); BuildKit copies each onto the same path (last wins: /not-a-dir holds b.txt)',
      diffs: ['kiln build exited 1: Dockerfile:3: When using COPY with more than one source file, the destination must be a directory and end with a /'],
    },
  ],
  [
    'stage-duplicate-name',
    {
      reason: 'kiln rejects a repeated stage name; BuildKit builds (the later stage wins: /which = "second"; newer BuildKit only warns, lint rule DuplicateStageName)',
      diffs: ['kiln build exited 1: Dockerfile:5: duplicate stage name "same"'],
    },
  ],
  [
    'copy-chmod-symbolic',
    {
      reason: 'BuildKit 0.13 (Docker 26) silently ignores a --chmod that is not an octal number (strconv.ParseUint fails, no mode is set); kiln applies symbolic modes as newer BuildKit (Dockerfile 1.10+) does (perhaps intended; plan/lower.ts checkChmod, build/copy/mode.ts)',
      diffs: ['/symbolic.txt: mode docker "0644", kiln "0744"'],
    },
  ],
  [
    'copy-chmod-variable',
    {
      reason: 'BuildKit never expands --chmod (kiln does not either since 198df7e); BuildKit 0.13 then silently ignores the non-octal "$MODE" (no mode set), kiln refuses it as newer BuildKit does (plan/lower.ts checkChmod; perhaps intended)',
      diffs: ["kiln build exited 1: Dockerfile:5: invalid chmod parameter: '$MODE'"],
    },
  ],
  [
    'copy-src-dotdot',
    {
      reason: 'BuildKit strips a leading ../ from a context source (the context is its root); issue #5 asks kiln to refuse sources outside the context, as the legacy builder did (build/copy/select.ts resolveSource)',
      diffs: ['kiln build exited 1: Dockerfile:3: "../hello.txt": the path leaves the build context'],
    },
  ],
  [
    'copy-src-dotdot-dir',
    {
      reason: 'as copy-src-dotdot, for a directory two levels up',
      diffs: ['kiln build exited 1: Dockerfile:3: "../../sub": the path leaves the build context'],
    },
  ],
  [
    'err-mount-secret-env',
    {
      reason: 'kiln accepts RUN --mount=type=secret,env=VAR (Dockerfile 1.10); BuildKit 0.13 does not know the key (perhaps intended)',
      diffs: ["kiln built the image; BuildKit fails: ERROR: failed to solve: unexpected key 'env' in 'env=VAR'"],
    },
  ],
  [
    'err-onbuild-copy-from',
    {
      reason: 'kiln runs an ONBUILD COPY --from=<stage of the child Dockerfile>, as newer BuildKit does; BuildKit 0.13 refuses it (perhaps intended)',
      diffs: ['kiln built the image; BuildKit fails: ERROR: failed to solve: cannot copy from stage "helper", it needs to be defined before current stage "stage-2"'],
    },
  ],
  [
    'err-directive-escape-twice',
    {
      reason: 'same error; kiln points at the second escape directive (line 2), BuildKit at the first',
      diffs: ['error location: docker Dockerfile:1, kiln Dockerfile:2'],
    },
  ],
  [
    'err-directive-escape-invalid',
    {
      reason: 'same error; kiln names the directive line, BuildKit no line',
      diffs: ['error location: docker Dockerfile:(none), kiln Dockerfile:1'],
    },
  ],
  [
    'err-run-empty-json',
    {
      reason: 'both refuse RUN []; kiln names the line ("RUN requires at least one argument"), BuildKit fails later with no line ("failed to marshal LLB definition: arguments are required")',
      diffs: ['error location: docker Dockerfile:(none), kiln Dockerfile:4'],
    },
  ],
  [
    'parse-json-trailing-config',
    {
      reason: 'JSON followed by more text: BuildKit 0.13 decodes the first JSON value and ignores the rest (parser parseJSON with json.Decoder), so CMD stays in exec form; newer BuildKit (json.Unmarshal) and kiln treat the line as shell form (perhaps intended)',
      diffs: [
        "config.Cmd: docker [\"echo\",\"hi\"], kiln [\"/bin/sh\",\"-c\",\"[\\\"echo\\\", \\\"hi\\\"] trailing words\"]",
        "history[1].created_by: docker \"CMD [\\\"echo\\\" \\\"hi\\\"]\", kiln \"CMD [\\\"/bin/sh\\\" \\\"-c\\\" \\\"[\\\\\\\"echo\\\\\\\", \\\\\\\"hi\\\\\\\"] trailing words\\\"]\"",
      ],
    },
  ],
  [
    'parse-json-trailing-run',
    {
      reason: 'as parse-json-trailing-config, for RUN: BuildKit 0.13 runs the JSON part in exec form and drops the rest, kiln runs the whole line in the shell as newer BuildKit does',
      diffs: [
        "history[1].created_by: docker \"RUN /bin/sh -c echo exec > /exec.txt # buildkit\", kiln \"RUN /bin/sh -c [\\\"/bin/sh\\\", \\\"-c\\\", \\\"echo exec > /exec.txt\\\"] ; echo shell > /shell.txt # buildkit\"",
        "/exec.txt: only in docker (file 0644 0:0 \"exec\\n\")",
        "/shell.txt: only in kiln (file 0644 0:0 \"shell\\n\")",
      ],
    },
  ],
  [
    'parse-json-trailing-shell',
    {
      reason: 'as parse-json-trailing-config, for SHELL: BuildKit 0.13 takes the JSON part, kiln (as newer BuildKit) sees no JSON form and refuses SHELL',
      diffs: [
        "kiln build exited 1: Dockerfile:3: SHELL requires the arguments to be in JSON form",
      ],
    },
  ],
  [
    'parse-json-trailing-volume',
    {
      reason: 'as parse-json-trailing-config, for VOLUME: BuildKit 0.13 takes ["/v1"], kiln (as newer BuildKit) splits the line into words',
      diffs: [
        "config.Volumes: docker {\"/v1\":{}}, kiln {\"/v2\":{},\"[/v1]\":{}}",
        "history[1].created_by: docker \"VOLUME [/v1]\", kiln \"VOLUME [[/v1] /v2]\"",
      ],
    },
  ],
  [
    'parse-json-trailing-copy',
    {
      reason: 'as parse-json-trailing-config, for COPY: BuildKit 0.13 copies the JSON sources, kiln (as newer BuildKit) reads words and "[hello.txt," is a bad pattern',
      diffs: [
        "kiln build exited 1: Dockerfile:3: syntax error in pattern \"[hello.txt,\"",
      ],
    },
  ],
  [
    'parse-heredoc-space-run',
    {
      reason: '`<< CMD` (a blank after <<): BuildKit 0.13\'s heredoc pattern has no \\s*, so it is no heredoc and the next line is an instruction; newer BuildKit and kiln read a heredoc (perhaps intended)',
      diffs: [
        "config.Cmd: docker [\"/bin/sh\",\"-c\",\"\"], kiln [\"sh\"]",
        "history: docker 3 entries, kiln 2",
        "history[1].created_by: docker \"RUN /bin/sh -c cat << CMD > /out.txt # buildkit\", kiln \"RUN /bin/sh -c cat << CMD > /out.txt\\nCMD # buildkit\"",
      ],
    },
  ],
  [
    'parse-heredoc-space-copy',
    {
      reason: 'as parse-heredoc-space-run, for COPY: BuildKit 0.13 fails at the body line (unknown instruction), kiln (as newer BuildKit) at the COPY line',
      diffs: [
        "error location: docker Dockerfile:4, kiln Dockerfile:3",
      ],
    },
  ],
  [
    'parse-heredoc-shebang-chomp',
    {
      reason: 'RUN <<-EOF with a tab-indented #!: BuildKit 0.13 looks for the shebang before stripping tabs (runs the body with sh -c), newer BuildKit and kiln strip first and run it as a script (perhaps intended)',
      diffs: [
        "history[1].created_by: docker \"RUN /bin/sh -c #!/bin/sh\\necho \\\"$0\\\" > /zero.txt\\n # buildkit\", kiln \"RUN /bin/sh -c /dev/pipes/EOF # buildkit\"",
        "/dev: only in docker (dir 0755 0:0)",
        "/zero.txt: content docker \"/bin/sh\\n\", kiln \"/dev/pipes/EOF\\n\"",
      ],
    },
  ],
  [
    'parse-expand-colon-hash',
    {
      reason: '${V:#p} and ${V:%p}: BuildKit 0.13 ignores the colon, newer BuildKit and kiln refuse the modifier (perhaps intended)',
      diffs: [
        "kiln build exited 1: Dockerfile:4: failed to process \"${V:#*.}\": unsupported modifier (:#) in substitution",
      ],
    },
  ],
  [
    'parse-expose-prefix-default',
    {
      reason: 'EXPOSE 1${NOPE:-2}3: newer BuildKit (whose lexer kiln follows) resets the shared word buffer in the nested expansion and loses the leading 1; BuildKit 0.13 keeps it (perhaps intended: same answer as the current reference)',
      diffs: [
        "config.ExposedPorts: docker {\"123/tcp\":{}}, kiln {\"23/tcp\":{}}",
        "history[1].created_by: docker \"EXPOSE map[123/tcp:{}]\", kiln \"EXPOSE map[23/tcp:{}]\"",
      ],
    },
  ],
  [
    'parse-escape-backtick-flags',
    {
      reason: 'under `# escape=` + "`"` a backslash in a --flag: BuildKit 0.13 unescapes flags with \\ regardless (a\\pp -> app), newer BuildKit and kiln use the directive\'s escape (a\\pp stays, an unknown user gives 0:0 as BuildKit does)',
      diffs: [
        "history[1].created_by: docker \"COPY --chown=app hello.txt /o.txt # buildkit\", kiln \"COPY --chown=a\\\\pp hello.txt /o.txt # buildkit\"",
        "/o.txt: owner docker \"1000:1000\", kiln \"0:0\"",
      ],
    },
  ],
  [
    'parse-global-arg-bad-expansion',
    {
      reason: 'global ARG A=${NOPE:?required}: BuildKit 0.13 drops the expansion error (A is empty), newer BuildKit and kiln fail at the line (perhaps intended)',
      diffs: [
        "kiln build exited 1: Dockerfile:2: failed to process \"${NOPE:?required}\": NOPE: required",
      ],
    },
  ],
  [
    'parse-directive-after-check',
    {
      reason: '`# check=` before `# escape=`: BuildKit 0.13 knows only syntax and escape, so check= ends the directives and escape is a comment; kiln knows check= as newer BuildKit does (perhaps intended)',
      diffs: [
        "config.Env: docker [\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\"A=ab\",\"C=c`d\"], kiln [\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\"A=a\\\\b\",\"C=cd\"]",
        "history[1].created_by: docker \"ENV A=ab C=c`d\", kiln \"ENV A=a\\\\b C=cd\"",
        "/esc.txt: content docker \"[ab][c`d]\\n\", kiln \"[a\\\\b][cd]\\n\"",
      ],
    },
  ],
  [
    'parse-directive-nbsp',
    {
      reason: '`#<U+00A0>escape=`: BuildKit 0.13\'s RE2 \\s does not match a no-break space (a comment), newer BuildKit and kiln trim with unicode.IsSpace (a directive; perhaps intended)',
      diffs: [
        "config.Env: docker [\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\"A=ab\",\"C=c`d\"], kiln [\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\"A=a\\\\b\",\"C=cd\"]",
        "history[1].created_by: docker \"ENV A=ab C=c`d\", kiln \"ENV A=a\\\\b C=cd\"",
        "/esc.txt: content docker \"[ab][c`d]\\n\", kiln \"[a\\\\b][cd]\\n\"",
      ],
    },
  ],
  [
    'stage-err-copy-from-negative-index',
    {
      reason: 'both refuse COPY --from=-1; kiln names the line, BuildKit raises it before its errors get a location (findStateByIndex)',
      diffs: [
        "error location: docker Dockerfile:(none), kiln Dockerfile:6",
      ],
    },
  ],
  [
    'stage-mount-from-index',
    {
      reason: 'both fail on RUN --mount=from=0 (an image named 0, not a stage index); kiln names the line, BuildKit fails resolving docker.io/library/0 with no line',
      diffs: [
        "error location: docker Dockerfile:(none), kiln Dockerfile:6",
      ],
    },
  ],
  [
    'fs-add-tar-contiguous',
    {
      reason: 'a tar entry of type 7 (contiguous file): moby\'s untar refuses it (unhandled tar header type), kiln extracts it as the regular file POSIX says it is (perhaps intended: kiln builds what BuildKit builds, and a little more)',
      diffs: [
        "kiln built the image; BuildKit fails: ERROR: failed to solve: unhandled tar header type 55",
      ],
    },
  ],
  [
    'fs-add-tar-dumpdir',
    {
      reason: 'a GNU incremental dump-dir entry (type D): moby refuses it, kiln extracts it as a directory (perhaps intended, as fs-add-tar-contiguous)',
      diffs: [
        "kiln built the image; BuildKit fails: ERROR: failed to solve: unhandled tar header type 68",
      ],
    },
  ],
  [
    'fs-ctx-abs-symlink-parent',
    {
      reason: 'a context symlink to an absolute path in the middle of a COPY source: BuildKit resolves it with the context as root, issue #5 asks kiln to refuse symlinks that lead out of the context (build/copy/paths.ts resolveRel)',
      diffs: [
        "kiln build exited 1: Dockerfile:4: \"via-abs/file.txt\": symbolic link \"/via-abs\" points outside the build context (to \"/inner\")",
      ],
    },
  ],
  [
    'fs-ctx-abs-symlink-src',
    {
      reason: 'as fs-ctx-abs-symlink-parent, for the source itself',
      diffs: [
        "kiln build exited 1: Dockerfile:4: \"abs\": symbolic link \"/abs\" points outside the build context (to \"/inner/file.txt\")",
      ],
    },
  ],
  [
    'fs-ctx-climbing-symlink-src',
    {
      reason: 'as fs-ctx-abs-symlink-parent, for a ../../../ target (BuildKit stops .. at the context root)',
      diffs: [
        "kiln build exited 1: Dockerfile:4: \"esc\": symbolic link \"/esc\" points outside the build context (to \"../../../inner/file.txt\")",
      ],
    },
  ],
  [
    'fs-ignore-reinclude-parent',
    {
      reason: '`**/d.txt` then `!dir/sub`: BuildKit\'s walker (patternmatcher MatchesUsingParentResults) never records the parent match of a negation that had nothing to undo, so dir/sub/d.txt stays excluded; kiln re-includes it as MatchesOrParentMatches (the legacy builder and Docker\'s dockerignore answers) does',
      diffs: [
        "/ctx/dir/sub/d.txt: only in kiln (file 0644 0:0 \"d\\n\")",
      ],
    },
  ],
  [
    'runenv-err-scratch-numeric-user',
    {
      reason: 'USER 42 on an image without /etc/passwd: BuildKit 0.13\'s GetUser hands runc\'s GetExecUser a nil *os.File, which fails with "invalid argument"; kiln runs it as uid 42, gid 0, as runc\'s own lookup with no file does (perhaps intended: a BuildKit bug, still in master)',
      diffs: [
        "kiln built the image; BuildKit fails: ERROR: failed to solve: process \"/bin/sh -c id > /out/id-42.txt\" did not complete successfully: unable to find user 42: invalid argument",
      ],
    },
  ],
  [
    'runenv-err-user-no-group-file',
    {
      reason: 'USER by name on an image without /etc/group: the same BuildKit bug ("unable to find groups for spec app: invalid argument"); kiln runs it with no supplementary groups (perhaps intended)',
      diffs: [
        "kiln built the image; BuildKit fails: ERROR: failed to solve: process \"/bin/sh -c id > /tmp/id-app.txt\" did not complete successfully: unable to find groups for spec app: invalid argument",
      ],
    },
  ],
  [
    'bctx-local-from-final',
    {
      reason: 'FROM a named local context: kiln records the context\'s layer first, as "FROM context NAME"; BuildKit 0.13\'s exporter appends a history entry for the unrecorded layer at the END and names it after whatever layer sits at that index (perhaps intended: kiln\'s history matches its layers)',
      diffs: [
        "history[0].created_by: docker \"LABEL from=extra\", kiln \"FROM context extra\"",
        "history[0].comment: docker \"buildkit.dockerfile.v0\", kiln \"buildkit.exporter.image.v0\"",
        "history[0].empty_layer: docker true, kiln false",
        "history[1].created_by: docker \"COPY Dockerfile /df # buildkit\", kiln \"LABEL from=extra\"",
        "history[1].empty_layer: docker false, kiln true",
        "history[2].created_by: docker \"[1/2] COPY Dockerfile /df\", kiln \"COPY Dockerfile /df # buildkit\"",
        "history[2].comment: docker \"buildkit.exporter.image.v0\", kiln \"buildkit.dockerfile.v0\"",
      ],
    },
  ],
  [
    'bctx-local-from-only',
    {
      reason: 'as bctx-local-from-final, for a stage that is only FROM NAME (BuildKit: "local source for extra")',
      diffs: [
        "history[0].created_by: docker \"local source for extra\", kiln \"FROM context extra\"",
      ],
    },
  ],
  [
    'bctx-local-symlink-clamp',
    {
      reason: 'symlinks in a named context that lead out of it: BuildKit resolves them inside the context\'s root, kiln refuses them as for the main context (issue #5; fs-ctx-*-symlink-*)',
      diffs: [
        "kiln build exited 1: Dockerfile:4: \"sub/climb\": symbolic link \"/sub/climb\" points outside the build context (to \"../../f.txt\")",
      ],
    },
  ],
  [
    'bctx-override-stage-local-child',
    {
      reason: 'a stage replaced by a named local context: BuildKit 0.13 gives it an all-empty config (no WorkingDir, no os/architecture in the exported image), kiln the empty image of the platform (perhaps intended: an image with no os/architecture is not valid OCI); plus the history of bctx-local-from-final',
      diffs: [
        "config.WorkingDir: docker (unset), kiln \"/\"",
        "image.os: docker (unset), kiln \"linux\"",
        "image.architecture: docker (unset), kiln \"amd64\"",
        "history[0].created_by: docker \"LABEL child=1\", kiln \"FROM context base\"",
        "history[0].comment: docker \"buildkit.dockerfile.v0\", kiln \"buildkit.exporter.image.v0\"",
        "history[0].empty_layer: docker true, kiln false",
        "history[1].created_by: docker \"local source for base\", kiln \"LABEL child=1\"",
        "history[1].comment: docker \"buildkit.exporter.image.v0\", kiln \"buildkit.dockerfile.v0\"",
        "history[1].empty_layer: docker false, kiln true",
      ],
    },
  ],
  [
    'bctx-override-stage-target-local',
    {
      reason: 'as bctx-override-stage-local-child, built with --target on the replaced stage (BuildKit also adds no PATH)',
      diffs: [
        "config.Env: docker (unset), kiln [\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"]",
        "config.WorkingDir: docker (unset), kiln \"/\"",
        "image.os: docker (unset), kiln \"linux\"",
        "image.architecture: docker (unset), kiln \"amd64\"",
        "history[0].created_by: docker \"local source for base\", kiln \"FROM context base\"",
      ],
    },
  ],
  [
    'hd-copy-multi-nodir',
    {
      reason: 'as copy-multi-no-slash, with heredoc sources: kiln refuses several sources to a destination without a trailing /',
      diffs: [
        "kiln build exited 1: Dockerfile:3: When using COPY with more than one source file, the destination must be a directory and end with a /",
      ],
    },
  ],
  [
    'hd-copy-name-dotdot',
    {
      reason: 'COPY <<.. fails in both (BuildKit writes the heredoc as a file named .. in scratch); kiln names the line, BuildKit\'s file-op error has none',
      diffs: [
        "error location: docker Dockerfile:(none), kiln Dockerfile:3",
      ],
    },
  ],
  [
    'hd-copy-name-slash',
    {
      reason: 'COPY <<sub/x.txt fails in both (BuildKit\'s Mkfile finds no sub/ in scratch); kiln names the line, BuildKit\'s file-op error has none',
      diffs: [
        "error location: docker Dockerfile:(none), kiln Dockerfile:3",
      ],
    },
  ],
  [
    'hd-copy-nul-byte',
    {
      reason: 'a NUL byte in a COPY heredoc body: BuildKit copies it, kiln refuses any NUL in a Dockerfile at its line (perhaps intended: a binary file given as a Dockerfile is caught early)',
      diffs: [
        "kiln build exited 1: Dockerfile:4: the line holds a NUL byte (at column 2)",
      ],
    },
  ],
  [
    'hd-run-shebang-name-slash',
    {
      reason: 'RUN <<sub/x with a #! body fails in both (BuildKit writes it as /dev/pipes/sub/x in scratch); kiln names the line, BuildKit none',
      diffs: [
        "error location: docker Dockerfile:(none), kiln Dockerfile:3",
      ],
    },
  ],
  [
    'url-err-404',
    {
      reason: "a failed download fails in both; kiln names the ADD line, BuildKit none (llb.HTTP gets no source location in dispatchCopy)",
      diffs: [
        "error location: docker Dockerfile:(none), kiln Dockerfile:6",
      ],
    },
  ],
  [
    'url-err-checksum',
    {
      reason: "a --checksum mismatch fails in both; kiln names the ADD line, BuildKit none (llb.HTTP gets no source location in dispatchCopy)",
      diffs: [
        "error location: docker Dockerfile:(none), kiln Dockerfile:5",
      ],
    },
  ],
  [
    'url-err-checksum-sha512',
    {
      reason: "BuildKit v0.13's http source only ever computes sha256, so a correct sha512 (or sha384) --checksum can never match there; kiln checks it with the algorithm it names",
      diffs: [
        "kiln built the image; BuildKit fails: ERROR: failed to solve: digest mismatch sha256:0dc8b4802768abafe42a81ca2399a8acf6e7f4b1f01a2fa5842ac379f9a9f432: sha512:e308647081724b745241644500d2bc08f2c5d54cc158a6217f812b4fc506961c84c44b882d87106ebbcc6eb1ce1a80538f0af7bc2f30d26bec7fc31893c4edd5",
      ],
    },
  ],
]);
