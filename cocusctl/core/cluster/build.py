"""Build the control plane from Debian bookworm's `kubernetes` source package, once, and cache the binaries.

No Kubernetes binary can be downloaded here, but the Debian source package (1.20, fully vendored) builds
offline with Debian's Go 1.19. Two things make it work (measured, see docs/decisions.md):
- the vendored `github.com/modern-go/reflect2` v1.0.1 breaks at run time on Go >= 1.18; Debian's 1.0.2
  sources replace it;
- `CGO_ENABLED=0` and the upstream `make WHAT=...` inside a GOPATH layout.

The source comes through a private apt sources list (own lists dir) so the machine's apt configuration is
untouched. Binaries land in `<cache>/<debian-version>/bin`; the Go build cache (about 2.3 GB) and the
sources are deleted afterwards. Standard library only: `python3 -m cocusctl.core.cluster.build` runs on a
fresh machine before cocusctl's virtual environment exists.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cocusctl.core.errors import NotAvailableError, ToolError
from cocusctl.core.runner import run

BINARIES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
GO_ROOT = Path("/usr/lib/go-1.19")
REFLECT2_SRC = Path("/usr/share/gocode/src/github.com/modern-go/reflect2")
PREREQUISITES = ("golang-1.19-go", "golang-github-modern-go-reflect2-dev", "make", "rsync", "dpkg-dev")
PREREQ_HINT = (
    "apt-get install -o DPkg::Lock::Timeout=600 " + " ".join(PREREQUISITES) + "  (scripts/local-stack.sh up does it)"
)
DEBIAN_MIRROR = os.environ.get("COCUS_DEBIAN_MIRROR", "http://deb.debian.org/debian")
DEBIAN_SECURITY = os.environ.get("COCUS_DEBIAN_SECURITY_MIRROR", "http://deb.debian.org/debian-security")
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
MANIFEST = "build.json"

Line = Callable[[str], None]


def default_cache() -> Path:
    """`$COCUS_CLUSTER_CACHE`, else `${XDG_CACHE_HOME:-~/.cache}/cocusctl/kubernetes` (never the repository)."""
    explicit = os.environ.get("COCUS_CLUSTER_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser() / "cocusctl" / "kubernetes"


@dataclass(frozen=True)
class Binaries:
    """One cached build: where its binaries are and what it is."""

    debian_version: str
    kubernetes_version: str
    bin_dir: Path
    build_seconds: float

    def path(self, name: str) -> Path:
        return self.bin_dir / name


def kubernetes_version(debian_version: str) -> str:
    """`1.20.5+really1.20.2-1.1+deb12u1` -> `1.20.2` (the upstream source actually packaged)."""
    upstream = debian_version.split(":")[-1].rsplit("-", 1)[0]
    return upstream.split("+really")[-1]


def cached(cache: Path | None = None) -> Binaries | None:
    """The newest complete build in the cache, without touching the network (what `cluster start` uses)."""
    cache = cache or default_cache()
    found: list[tuple[float, Binaries]] = []
    for manifest in cache.glob(f"*/{MANIFEST}"):
        try:
            data = json.loads(manifest.read_text())
        except (OSError, ValueError):
            continue
        bin_dir = manifest.parent / "bin"
        if all(os.access(bin_dir / name, os.X_OK) for name in BINARIES):
            binaries = Binaries(data["debian_version"], data["kubernetes_version"], bin_dir,
                                float(data.get("build_seconds", 0)))
            found.append((float(data.get("built_at", 0)), binaries))
    return max(found, key=lambda item: item[0])[1] if found else None


def missing_prerequisites() -> list[str]:
    """What the build needs that this machine lacks (empty when it can build)."""
    missing = []
    if not (GO_ROOT / "bin" / "go").is_file():
        missing.append("golang-1.19-go")
    if not (REFLECT2_SRC / "reflect2.go").is_file():
        missing.append("golang-github-modern-go-reflect2-dev")
    for program, package in (("make", "make"), ("rsync", "rsync"), ("dpkg-source", "dpkg-dev"),
                             ("apt-get", "apt")):
        if shutil.which(program) is None:
            missing.append(package)
    return missing


def require_prerequisites() -> None:
    missing = missing_prerequisites()
    if missing:
        raise NotAvailableError(f"building Kubernetes needs {', '.join(missing)}", hint=PREREQ_HINT)


class _PrivateApt:
    """apt-get with its own sources list and lists dir: the machine's apt configuration stays untouched."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "lists" / "partial").mkdir(parents=True, exist_ok=True)
        sources = root / "sources.list"
        signed = f"[signed-by={KEYRING}] " if Path(KEYRING).is_file() else ""
        sources.write_text(
            f"deb-src {signed}{DEBIAN_MIRROR} bookworm main\n"
            f"deb-src {signed}{DEBIAN_SECURITY} bookworm-security main\n"
        )
        self.options = [
            "-o", f"Dir::Etc::SourceList={sources}",
            "-o", "Dir::Etc::SourceParts=/dev/null",
            "-o", f"Dir::State::Lists={root / 'lists'}",
            "-o", f"Dir::Cache={root / 'cache'}",
            "-o", "Debug::NoLocking=1",
            "-o", "APT::Sandbox::User=root",
        ]

    def update(self) -> None:
        run(["apt-get", *self.options, "-q", "update"], tool="apt-get", timeout=600)

    def source_version(self, package: str) -> str:
        """The newest source version the private lists offer."""
        out = run(["apt-cache", *self.options, "showsrc", package], tool="apt-cache", timeout=120).stdout
        versions = re.findall(r"^Version: (\S+)$", out, flags=re.MULTILINE)
        if not versions:
            raise NotAvailableError(f"no Debian source package '{package}' found")
        newest = versions[0]
        for candidate in versions[1:]:
            if run(["dpkg", "--compare-versions", candidate, "gt", newest], check=False).returncode == 0:
                newest = candidate
        return newest

    def download_source(self, package: str, version: str, into: Path) -> Path:
        run(["apt-get", *self.options, "-q", "source", "--download-only", f"{package}={version}"],
            tool="apt-get", cwd=into, timeout=1200)
        dsc = sorted(into.glob(f"{package}_*.dsc"))
        if not dsc:
            raise NotAvailableError(f"apt-get source did not download {package} {version}")
        return dsc[0]


def _go_env(work: Path) -> dict[str, str]:
    return {
        "GOPATH": str(work / "gopath"),
        "GOCACHE": str(work / "gocache"),
        "GOFLAGS": "",
        "GO111MODULE": "",
        "CGO_ENABLED": "0",
        "HOME": str(work / "home"),
        "PATH": f"{GO_ROOT / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
    }


def _prepare_source(dsc: Path, work: Path) -> Path:
    """Unpack (Debian patches applied) into a GOPATH layout and swap in reflect2 1.0.2."""
    tree = work / "gopath" / "src" / "k8s.io" / "kubernetes"
    tree.parent.mkdir(parents=True, exist_ok=True)
    run(["dpkg-source", "-x", str(dsc), str(tree)], tool="dpkg-source", cwd=dsc.parent, timeout=600)
    vendored = tree / "vendor" / "github.com" / "modern-go" / "reflect2"
    shutil.rmtree(vendored)
    shutil.copytree(REFLECT2_SRC, vendored, ignore=shutil.ignore_patterns("*_test.go"))
    return tree


def _compile(tree: Path, work: Path, on_line: Line | None) -> None:
    (work / "home").mkdir(exist_ok=True)
    what = " ".join(f"cmd/{name}" for name in BINARIES)
    run(["nice", "-n", "10", "make", f"WHAT={what}"], tool="make", cwd=tree, env=_go_env(work),
        on_line=on_line or (lambda _line: None), timeout=7200)


def build(cache: Path | None = None, *, on_line: Line | None = None, force: bool = False) -> Binaries:
    """Build the newest Debian `kubernetes` source into the cache; a no-op when that version is cached.

    Takes a lock so two callers never build at once; the second one finds the first one's result.
    """
    require_prerequisites()
    cache = cache or default_cache()
    cache.mkdir(parents=True, exist_ok=True)
    say = on_line or (lambda _line: None)
    with open(cache / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        work = Path(tempfile.mkdtemp(prefix="build-", dir=cache))
        try:
            say("looking up Debian's kubernetes source package")
            apt = _PrivateApt(work / "apt")
            apt.update()
            version = apt.source_version("kubernetes")
            target = cache / version
            existing = cached(cache)
            if not force and existing is not None and existing.debian_version == version:
                return existing
            say(f"downloading kubernetes {version} sources")
            source_dir = work / "source"
            source_dir.mkdir()
            dsc = apt.download_source("kubernetes", version, source_dir)
            tree = _prepare_source(dsc, work)
            say("compiling " + ", ".join(BINARIES) + " (several minutes)")
            started = time.monotonic()
            _compile(tree, work, on_line)
            seconds = round(time.monotonic() - started, 1)
            staged = work / "bin"
            staged.mkdir()
            for name in BINARIES:
                built = tree / "_output" / "bin" / name
                if not built.is_file():
                    raise ToolError("make", ["make"], 0, message=f"the build produced no {name}")
                shutil.copy2(built, staged / name)
            if target.exists():
                shutil.rmtree(target)
            target.mkdir()
            staged.rename(target / "bin")
            manifest = {
                "debian_version": version,
                "kubernetes_version": kubernetes_version(version),
                "binaries": {name: (target / "bin" / name).stat().st_size for name in BINARIES},
                "build_seconds": seconds,
                "built_at": time.time(),
                "go": str(GO_ROOT),
            }
            (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
            return Binaries(version, kubernetes_version(version), target / "bin", seconds)
        finally:
            # Sources, objects and the Go build cache: gigabytes nobody needs once the binaries exist.
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str]) -> int:
    """`python3 -m cocusctl.core.cluster.build [--force] [--check]`: build (or check) the cache; print one line."""
    from cocusctl.core.errors import CocusError

    if "--check" in argv:
        found = cached()
        print(f"cached: {found.bin_dir} ({found.debian_version})" if found else "not built")
        return 0 if found else 1
    try:
        binaries = build(force="--force" in argv, on_line=lambda line: print(f"  {line}", flush=True))
    except CocusError as exc:
        print(f"error: {exc.message}" + (f" (hint: {exc.hint})" if exc.hint else ""), file=sys.stderr)
        if exc.details:
            print(exc.details, file=sys.stderr)
        return int(exc.exit_code)
    print(f"kubernetes {binaries.kubernetes_version} ({binaries.debian_version}) in {binaries.bin_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
