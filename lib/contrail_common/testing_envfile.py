"""Test helpers: env files read as the engines' own code reads them, to check what was written.

Transcriptions of the Go readers, byte for byte, independent of `envfile.parse_env_file`:

- `docker_env_file`: docker/cli `opts.ParseEnvFile` (`opts/file.go`, parseKeyValueFile);
- `ctr_env_file`: containerd `oci.WithEnvFile` and `WithEnv` (`pkg/oci/spec_opts.go`).

Both scan lines with Go's `bufio.Scanner` and `ScanLines`: a line ends at `\\n`, one `\\r`
before it is dropped, and a line that does not fit the 64 KiB buffer fails the whole file.
"""

from __future__ import annotations

from pathlib import Path

_MAX_TOKEN = 64 * 1024  # bufio.MaxScanTokenSize
_BOM = b"\xef\xbb\xbf"
# Go's unicode.IsSpace, which Docker trims from the start of a line.
_GO_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)


class EnvFileRefused(Exception):
    """The engine would refuse the file (too long a line, invalid UTF-8, a bad name)."""


def go_scan_lines(data: bytes) -> list[bytes]:
    """The tokens of `bufio.Scanner` with `ScanLines` and the default buffer."""
    lines = []
    start = 0
    while start < len(data):
        end = data.find(b"\n", start)
        stop = len(data) if end < 0 else end
        # The buffer holds at most _MAX_TOKEN bytes: the line and its newline (or, for the
        # last line, the end of file seen on a read into the space left) must fit.
        if stop - start + 1 > _MAX_TOKEN:
            raise EnvFileRefused("bufio.Scanner: token too long")
        line = data[start:stop]
        lines.append(line[:-1] if line.endswith(b"\r") else line)
        start = len(data) if end < 0 else end + 1
    return lines


def docker_env_file(data: bytes) -> dict[str, str]:
    """The variables `docker run --env-file` sets (a name without `=` is looked up in the
    client's environment; none is set here, so it is left out)."""
    env: dict[str, str] = {}
    for number, raw in enumerate(go_scan_lines(data)):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise EnvFileRefused(f"invalid utf8 bytes at line {number + 1}") from None
        if number == 0:
            text = text.removeprefix(_BOM.decode())
        line = text.lstrip(_GO_SPACE)
        if not line or line.startswith("#"):
            continue
        variable, has_value, value = line.partition("=")
        variable = variable.lstrip(" \t")
        if any(space in variable for space in " \t"):
            raise EnvFileRefused(f"variable {variable!r} contains whitespaces")
        if not variable:
            raise EnvFileRefused(f"no variable name on line {line!r}")
        if has_value:
            env[variable] = value
    return env


def ctr_env_file(data: bytes) -> dict[str, str]:
    """The variables `ctr run --env-file` sets: every line as it is; a line without `=`
    unsets the name (blank lines included, which name nothing)."""
    env: dict[str, str] = {}
    for raw in go_scan_lines(data):
        line = raw.decode("utf-8", errors="surrogateescape")
        key, has_value, value = line.partition("=")
        if has_value:
            env[key] = value
        else:
            env.pop(key, None)
    return env


def misread_lines(path: Path) -> list[str]:
    """How the engines would read `path` differently from the `KEY=VALUE` lines written to
    it (split at `\\n` only); empty when Docker, ctr and the library's own reader all read
    exactly those lines."""
    from .envfile import read_env_file

    data = path.read_bytes()
    text = data.decode("utf-8")
    written = text.split("\n")
    problems = []
    if written[-1] != "":
        problems.append(f"{path.name}: no final newline")
    written = written[:-1]
    expected = {}
    for line in written:
        key, has_value, value = line.partition("=")
        if not has_value:
            problems.append(f"{path.name}: a line without '=': {line!r}")
        expected[key] = value
    if len(expected) != len(written):
        problems.append(f"{path.name}: a variable written twice")
    readers = {
        "docker": docker_env_file,
        "ctr": ctr_env_file,
        "read_env_file": lambda _data: read_env_file(path),
    }
    for name, reader in readers.items():
        try:
            found = reader(data)
        except EnvFileRefused as error:
            problems.append(f"{path.name}: {name} refuses the file: {error}")
            continue
        if found != expected:
            differ = sorted(k for k in {*found, *expected} if found.get(k) != expected.get(k))
            problems.append(f"{path.name}: {name} reads {', '.join(differ)} differently")
    return problems


def misread_env_files(directory: Path) -> list[str]:
    """`misread_lines` of every `*.env` file under `directory`."""
    problems: list[str] = []
    for path in sorted(directory.rglob("*.env")):
        problems += misread_lines(path)
    return problems
