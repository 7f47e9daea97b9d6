"""A PEP 517 build backend in the standard library only: it builds the
wheel of the greet package, with a `greet` console script, so pip can
install this project with no package index."""

import base64
import hashlib
import os
import zipfile

NAME, VERSION = "greet", "1.0"
DIST = "%s-%s" % (NAME, VERSION)


def _record(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (path, digest, len(data))


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = {}
    for root, _, names in os.walk(NAME):
        for n in sorted(names):
            if n.endswith(".py"):
                path = os.path.join(root, n)
                with open(path, "rb") as f:
                    files[path.replace(os.sep, "/")] = f.read()
    info = DIST + ".dist-info/"
    files[info + "METADATA"] = ("Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (NAME, VERSION)).encode()
    files[info + "WHEEL"] = b"Wheel-Version: 1.0\nGenerator: wheelmaker\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files[info + "entry_points.txt"] = b"[console_scripts]\ngreet = greet:main\n"
    record = [_record(p, d) for p, d in files.items()] + [info + "RECORD,,"]
    files[info + "RECORD"] = ("\n".join(record) + "\n").encode()
    name = DIST + "-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as z:
        for path, data in files.items():
            z.writestr(path, data)
    return name
