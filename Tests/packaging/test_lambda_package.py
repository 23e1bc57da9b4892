"""The packaging check on small ELF files built here: it must name the file and the symbol or
library for each way a package can fail to load on provided.al2023, and zips must be
reproducible."""
from __future__ import annotations

import ctypes
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "packaging"))

import lambda_package  # noqa: E402


def compile_c(tmp_path: Path, name: str, source: str, *flags: str) -> Path:
    (tmp_path / f"{name}.c").write_text(source)
    output = tmp_path / name
    subprocess.run(["gcc", "-O1", "-o", str(output), str(tmp_path / f"{name}.c"), *flags], check=True)
    return output


def test_a_symbol_version_newer_than_al2023s_glibc_is_named(tmp_path):
    # hypotf is GLIBC_2.35 on this machine, as in Swift's static runtime.
    binary = compile_c(tmp_path, "bootstrap", "#include <math.h>\nvolatile float x = 3;\n"
                       "int main(void) { return (int)hypotf(x, 4.0f); }\n", "-lm")
    problems = lambda_package.problems_of(binary, "demo.zip:bootstrap", lambda_package.provided_libraries(), is_bootstrap=True)
    assert problems == ["demo.zip:bootstrap: requires GLIBC_2.35 from libm.so.6 for hypotf"]


def test_the_compat_shim_brings_hypotf_back_to_2_34(tmp_path):
    shim = (ROOT / "Sources" / "GlibcCompat" / "GlibcCompat.c").read_text()
    binary = compile_c(tmp_path, "bootstrap", shim + "\nvolatile float x = 3;\nint main(void) { return (int)hypotf(x, 4.0f); }\n", "-lm")
    assert lambda_package.problems_of(binary, "b", lambda_package.provided_libraries(), is_bootstrap=True) == []
    assert subprocess.run([str(binary)]).returncode == 5


def test_a_library_neither_in_the_layer_nor_in_the_image_is_named(tmp_path):
    library = compile_c(tmp_path, "libextra.so", "int extra(void) { return 1; }\n", "-shared", "-fPIC", "-Wl,-soname,libextra.so")
    binary = compile_c(tmp_path, "bootstrap", "int extra(void);\nint main(void) { return extra(); }\n", str(library))
    problems = lambda_package.problems_of(binary, "demo.zip:bootstrap", lambda_package.provided_libraries(), is_bootstrap=True)
    assert problems == ["demo.zip:bootstrap: needs libextra.so, which is neither in the layer nor in the image"]
    assert lambda_package.problems_of(binary, "b", lambda_package.provided_libraries() | {"libextra.so"}, is_bootstrap=True) == []


def test_a_bootstrap_linked_against_debians_libcurl_is_refused(tmp_path):
    binary = compile_c(tmp_path, "bootstrap", "#include <curl/curl.h>\nint main(void) { return curl_version() == 0; }\n", "-lcurl")
    problems = lambda_package.problems_of(binary, "demo.zip:bootstrap", lambda_package.provided_libraries() | {"libcurl.so.4"}, is_bootstrap=True)
    assert "demo.zip:bootstrap: is linked against libcurl.so.4; it must load libcurl at run time" in problems
    assert any("requires libcurl symbol version CURL_OPENSSL_4 for curl_version" in problem for problem in problems)


def test_a_zip_over_its_size_target_is_named(tmp_path):
    (tmp_path / "writer.zip").write_bytes(bytes(6_000_001))
    (tmp_path / "runtime-libs-layer.zip").write_bytes(bytes(8_000_000))
    assert lambda_package.size_problems(tmp_path, ["writer"]) == ["writer.zip: 6.00 MB, over the 6 MB target"]
    (tmp_path / "runtime-libs-layer.zip").write_bytes(bytes(8_000_001))
    (tmp_path / "writer.zip").write_bytes(bytes(6_000_000))
    assert lambda_package.size_problems(tmp_path, ["writer"]) == ["runtime-libs-layer.zip: 8.00 MB, over the 8 MB target"]


def test_zips_are_byte_identical_for_identical_inputs(tmp_path):
    binary = compile_c(tmp_path, "tool", "int main(void) { return 0; }\n")
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    lambda_package.write_zip(first, {"bootstrap": (binary, 0o755)})
    binary.touch()
    lambda_package.write_zip(second, {"bootstrap": (binary, 0o755)})
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        assert archive.namelist() == ["bootstrap"]
        assert archive.getinfo("bootstrap").external_attr >> 16 & 0o777 == 0o755


def test_two_builds_differing_only_in_swifts_module_hash_package_alike(tmp_path):
    # As swiftc does: a random 16-byte module hash in .swift_modhash, hashed into the build id.
    builds = []
    for name, stamp in (("first", "0123456789abcdef"), ("second", "fedcba9876543210")):
        (tmp_path / name).mkdir()
        binary = compile_c(tmp_path / name, "bootstrap", f'__attribute__((section(".swift_modhash"), used)) static const char hash[16] = "{stamp}";\n'
                           "int main(void) { return 0; }\n", "-Wl,--build-id=sha1")
        subprocess.run(["strip", "--strip-all", str(binary)], check=True)
        builds.append(binary)
    assert builds[0].read_bytes() != builds[1].read_bytes()
    for binary in builds:
        lambda_package.make_deterministic(binary)
    assert builds[0].read_bytes() == builds[1].read_bytes()
    offset, size = lambda_package.section_extents(builds[0])[".swift_modhash"]
    assert builds[0].read_bytes()[offset:offset + size] == bytes(size)
    assert subprocess.run([str(builds[0])]).returncode == 0


@pytest.mark.parametrize("version,expected", [("GLIBC_2.34", False), ("GLIBC_2.35", True), ("GLIBC_2.2.5", False),
                                              ("GLIBCXX_3.4.29", False), ("GLIBCXX_3.4.30", True), ("OPENSSL_3.0.0", False)])
def test_version_ceiling(version, expected):
    assert lambda_package.too_new(version) is expected


# --- the layer scripts/package built (scripts/test packages before it runs these) ---------------

LAYER_ZIP = ROOT / ".build" / "lambda" / "runtime-libs-layer.zip"


class VersionInfo(ctypes.Structure):
    """The head of libcurl's curl_version_info_data, as far as the protocols."""
    _fields_ = [("age", ctypes.c_int), ("version", ctypes.c_char_p), ("version_num", ctypes.c_uint),
                ("host", ctypes.c_char_p), ("features", ctypes.c_int), ("ssl_version", ctypes.c_char_p),
                ("ssl_version_num", ctypes.c_long), ("libz_version", ctypes.c_char_p),
                ("protocols", ctypes.POINTER(ctypes.c_char_p))]


def test_the_layer_holds_one_libcurl_for_http_and_https_over_openssl(tmp_path):
    with zipfile.ZipFile(LAYER_ZIP) as archive:
        assert archive.namelist() == ["lib/libcurl-https.so.4"]
        archive.extractall(tmp_path)
    library = tmp_path / "lib" / "libcurl-https.so.4"
    assert lambda_package.soname(library) == "libcurl-https.so.4"
    assert set(lambda_package.needed(library)) == {"libssl.so.3", "libcrypto.so.3", "libc.so.6"}

    curl = ctypes.CDLL(str(library), mode=ctypes.RTLD_LOCAL)
    curl.curl_version_info.restype = ctypes.POINTER(VersionInfo)
    info = curl.curl_version_info(10).contents  # CURLVERSION_TENTH
    protocols = []
    while info.protocols[len(protocols)]:
        protocols.append(info.protocols[len(protocols)].decode())
    assert sorted(protocols) == ["http", "https"]
    assert info.ssl_version.decode().startswith("OpenSSL/3.")
    assert info.libz_version is None
