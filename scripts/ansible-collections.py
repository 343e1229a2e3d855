"""Install the few Ansible collections the tests need into the running interpreter's site-packages.

Ansible Galaxy is not reachable from the dev/CI machines; PyPI is. The `ansible` package on PyPI bundles
every collection (21,000 files, 207 MB installed); this takes only the ones named below out of its wheel
(downloaded with pip, the ordinary client) and places them where ansible-core finds pip-installed
collections (`site-packages/ansible_collections`). Idempotent: a collection already at the wanted version
is left alone.

Usage: python scripts/ansible-collections.py      (run with the project's .venv interpreter)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from pathlib import Path

# The `ansible` release whose bundled collections are used (ansible 12 pairs with ansible-core 2.19), and
# the collections taken from it with their versions there. community.docker and ansible.posix are what
# Molecule's docker driver (its create/destroy playbooks) needs.
ANSIBLE_RELEASE = "12.3.0"
COLLECTIONS = {"community.docker": "4.8.5", "ansible.posix": "2.1.0"}


def installed_version(target: Path) -> str | None:
    manifest = target / "MANIFEST.json"
    if not manifest.is_file():
        return None
    return str(json.loads(manifest.read_text())["collection_info"]["version"])


def main() -> int:
    site = Path(sysconfig.get_paths()["purelib"]) / "ansible_collections"
    missing = {name: version for name, version in COLLECTIONS.items()
               if installed_version(site.joinpath(*name.split("."))) != version}
    for name in COLLECTIONS.keys() - missing.keys():
        print(f"  {name} {COLLECTIONS[name]} already installed")
    if not missing:
        return 0
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(download(Path(tmp))) as archive:
        for name, version in missing.items():
            prefix = "ansible_collections/" + name.replace(".", "/") + "/"
            found = json.loads(archive.read(prefix + "MANIFEST.json"))["collection_info"]["version"]
            if found != version:
                raise SystemExit(f"ansible {ANSIBLE_RELEASE} bundles {name} {found}, not {version}")
            shutil.rmtree(site.joinpath(*name.split(".")), ignore_errors=True)
            archive.extractall(site.parent, [m for m in archive.namelist() if m.startswith(prefix)])
            print(f"  {name} {version} installed from ansible {ANSIBLE_RELEASE}")
    return 0


def download(folder: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--disable-pip-version-check",
         "--dest", str(folder), f"ansible=={ANSIBLE_RELEASE}"],
        check=True,
    )
    return next(folder.glob("ansible-*.whl"))


if __name__ == "__main__":
    sys.exit(main())
