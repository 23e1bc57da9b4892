#!/usr/bin/env python3
"""Packages the functions for provided.al2023 and checks, as the dynamic loader would, that
everything in the packages loads there.

  lambda_package.py build --bin .build/release --libcurl LIBCURL --out .build/lambda PRODUCT...
  lambda_package.py check --out .build/lambda PRODUCT...

`build` writes <out>/<product>.zip (a stripped `bootstrap`, mode 755) and
<out>/runtime-libs-layer.zip (`lib/`: the given libcurl and what it needs beyond the image). Zips are
reproducible: fixed timestamps, sorted entries, fixed modes, and no per-compile module hash.

`check` fails, naming the file and the symbol or library, when any bootstrap or layer library
needs a library that is neither in the layer nor provided by the image
(al2023-provided-libraries.txt), requires a symbol version above GLIBC_2.34 or GLIBCXX_3.4.29,
or (for a bootstrap) needs libcurl or a libcurl symbol version at all, and when a function zip is
over 6 MB or the layer over 8 MB (issue 6's targets); then it runs each bootstrap's --self-check
with the library path limited to the layer.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
LAYER = "runtime-libs-layer"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
MAX_VERSIONS = {"GLIBC": (2, 34), "GLIBCXX": (3, 4, 29)}
MAX_FUNCTION_ZIP_BYTES, MAX_LAYER_ZIP_BYTES = 6_000_000, 8_000_000


def provided_libraries() -> set[str]:
    lines = (HERE / "al2023-provided-libraries.txt").read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def run(*command: str) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def needed(path: Path) -> list[str]:
    """The NEEDED entries of an ELF file's dynamic section."""
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", run("readelf", "-d", str(path)))


def soname(path: Path) -> str | None:
    found = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", run("readelf", "-d", str(path)))
    return found.group(1) if found else None


def version_requirements(path: Path) -> list[tuple[str, str]]:
    """(library, version) pairs from the file's .gnu.version_r: what the loader will demand."""
    requirements, library = [], None
    for line in run("readelf", "--version-info", "--wide", str(path)).splitlines():
        file_match = re.search(r"File: (\S+)", line)
        if file_match:
            library = file_match.group(1)
        name_match = re.search(r"Name: (\S+)", line)
        if name_match and library and "Version:" in line:
            requirements.append((library, name_match.group(1)))
    return requirements


def symbols_at(path: Path, version: str) -> list[str]:
    """Undefined dynamic symbols bound to `version`: what to blame for a requirement."""
    return sorted({line.split()[-1] for line in run("objdump", "-T", str(path)).splitlines()
                   if f"({version})" in line and "*UND*" in line})


def too_new(version: str) -> bool:
    family, _, number = version.partition("_")
    if family not in MAX_VERSIONS or not re.fullmatch(r"[0-9.]+", number):
        return False
    return tuple(int(part) for part in number.split(".")) > MAX_VERSIONS[family]


# --- build ---------------------------------------------------------------------------------------


def section_extents(path: Path) -> dict[str, tuple[int, int]]:
    """Each section's (file offset, size), by name."""
    found = {}
    for match in re.finditer(r"\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)", run("readelf", "-SW", str(path))):
        found[match.group(1)] = (int(match.group(2), 16), int(match.group(3), 16))
    return found


def make_deterministic(path: Path) -> None:
    """swiftc stamps every compile with a random module hash (`.swift_modhash`, which nothing reads
    at run time), and the linker's build id hashes it in: two builds of the same sources differ in
    those bytes alone. The first is zeroed, the second derived again from everything else."""
    sections = section_extents(path)
    data = bytearray(path.read_bytes())
    if ".swift_modhash" in sections:
        offset, size = sections[".swift_modhash"]
        data[offset:offset + size] = bytes(size)
    if ".note.gnu.build-id" in sections:
        offset, _ = sections[".note.gnu.build-id"]
        name_size, id_size, _ = struct.unpack_from("<III", data, offset)
        start = offset + 12 + (name_size + 3) // 4 * 4
        data[start:start + id_size] = bytes(id_size)
        data[start:start + id_size] = hashlib.sha1(data).digest()[:id_size]
    path.write_bytes(data)


def write_zip(destination: Path, files: dict[str, tuple[Path, int]]) -> None:
    """A zip of `files` (name -> (source, mode)) that is byte-identical for identical inputs."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in sorted(files):
            source, mode = files[name]
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.external_attr = (0o100000 | mode) << 16
            info.create_system = 3
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, source.read_bytes(), compresslevel=9)


def layer_libraries(libcurl: Path, provided: set[str]) -> dict[str, Path]:
    """`libcurl` and its dependency closure, by SONAME, less what the image provides."""
    closure: dict[str, Path] = {soname(libcurl) or libcurl.name: libcurl}
    for line in run("ldd", str(libcurl)).splitlines():
        match = re.match(r"\s*(\S+) => (/\S+)", line)
        if match and match.group(1) not in provided:
            closure[match.group(1)] = Path(match.group(2)).resolve()
    return closure


def build(bin_dir: Path, libcurl: Path, out: Path, products: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        for product in products:
            stripped = Path(scratch) / product
            shutil.copyfile(bin_dir / product, stripped)
            run("strip", "--strip-all", str(stripped))
            make_deterministic(stripped)
            write_zip(out / f"{product}.zip", {"bootstrap": (stripped, 0o755)})
        libraries = layer_libraries(libcurl, provided_libraries())
        write_zip(out / f"{LAYER}.zip", {f"lib/{name}": (path, 0o644) for name, path in libraries.items()})
    for name in products + [LAYER]:
        print(f"{name}.zip: {(out / f'{name}.zip').stat().st_size / 1e6:.2f} MB")


# --- check ---------------------------------------------------------------------------------------


def problems_of(path: Path, label: str, available: set[str], is_bootstrap: bool) -> list[str]:
    problems = []
    for library in needed(path):
        if library not in available:
            problems.append(f"{label}: needs {library}, which is neither in the layer nor in the image")
        if is_bootstrap and library.startswith("libcurl"):
            problems.append(f"{label}: is linked against {library}; it must load libcurl at run time")
    for library, version in version_requirements(path):
        if too_new(version):
            problems.append(f"{label}: requires {version} from {library} for {', '.join(symbols_at(path, version)) or 'a symbol'}")
        if is_bootstrap and version.startswith("CURL"):
            problems.append(f"{label}: requires libcurl symbol version {version} for {', '.join(symbols_at(path, version))}")
    return problems


def size_problems(out: Path, products: list[str]) -> list[str]:
    limits = {**{product: MAX_FUNCTION_ZIP_BYTES for product in products}, LAYER: MAX_LAYER_ZIP_BYTES}
    sizes = {name: (out / f"{name}.zip").stat().st_size for name in limits}
    return [f"{name}.zip: {size / 1e6:.2f} MB, over the {limits[name] / 1e6:.0f} MB target"
            for name, size in sizes.items() if size > limits[name]]


def check(out: Path, products: list[str]) -> list[str]:
    problems = size_problems(out, products)
    with tempfile.TemporaryDirectory() as scratch:
        layer = Path(scratch) / LAYER
        with zipfile.ZipFile(out / f"{LAYER}.zip") as archive:
            archive.extractall(layer)
        layer_names = {path.name for path in (layer / "lib").iterdir()}
        available = provided_libraries() | layer_names
        for library in sorted((layer / "lib").iterdir()):
            problems += problems_of(library, f"{LAYER}.zip:lib/{library.name}", available, is_bootstrap=False)
        for product in products:
            target = Path(scratch) / product
            with zipfile.ZipFile(out / f"{product}.zip") as archive:
                names = archive.namelist()
                mode = archive.getinfo("bootstrap").external_attr >> 16 if "bootstrap" in names else 0
                archive.extractall(target)
            if names != ["bootstrap"] or mode & 0o777 != 0o755:
                problems.append(f"{product}.zip: must hold exactly `bootstrap` with mode 755 (has {names}, mode {oct(mode & 0o777)})")
                continue
            bootstrap = target / "bootstrap"
            os.chmod(bootstrap, 0o755)
            problems += problems_of(bootstrap, f"{product}.zip:bootstrap", available, is_bootstrap=True)
            problems += self_check(bootstrap, product, layer / "lib")
    return problems


def self_check(bootstrap: Path, product: str, layer_lib: Path) -> list[str]:
    """Runs `bootstrap --self-check` as Lambda would find libraries: the layer first, then the system."""
    environment = {"PATH": "/usr/bin:/bin", "LD_LIBRARY_PATH": str(layer_lib)}
    result = subprocess.run([str(bootstrap), "--self-check"], env=environment, capture_output=True, text=True, timeout=30)
    label = f"{product}.zip:bootstrap --self-check"
    if result.returncode != 0:
        return [f"{label}: exit {result.returncode}: {result.stdout.strip()} {result.stderr.strip()}"]
    report = json.loads(result.stdout)
    if not report.get("signerConforms"):
        return [f"{label}: the SigV4 signer does not reproduce the reference signature"]
    if not report.get("libcurlPath", "").startswith(str(layer_lib)):
        return [f"{label}: loaded libcurl from {report.get('libcurlPath')}, not from the layer"]
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    build_command = commands.add_parser("build")
    build_command.add_argument("--bin", type=Path, required=True)
    build_command.add_argument("--libcurl", type=Path, required=True,
                               help="the libcurl the layer carries (scripts/packaging/build-libcurl)")
    check_command = commands.add_parser("check")
    for command in (build_command, check_command):
        command.add_argument("--out", type=Path, required=True)
        command.add_argument("products", nargs="+")
    args = parser.parse_args(argv)
    if args.command == "build":
        build(args.bin, args.libcurl, args.out, args.products)
        return 0
    problems = check(args.out, args.products)
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    print(f"loader check: {len(args.products) + 1} packages, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
