"""DOCX → PDF by LibreOffice, kept warm behind unoserver.

A cold `soffice --convert-to pdf` costs 1.2–1.5 s a file here (the program starts each time);
LibreOffice kept running behind unoserver converts the same notice in ~0.2 s. `reception
serve` and `reception worker` start the server (`PdfServer`) and restart it if it stops; every
process of the service sends its conversions there (RECEPTION_PDF_SERVER, host:port). When no
server answers, a conversion runs the cold way, so a PDF is always made (slower), never lost.

unoserver's server needs LibreOffice's Python bridge (`uno`), which Debian installs for the
system's Python (python3-uno), not for a virtualenv: the server runs under that Python
(RECEPTION_UNO_PYTHON) with the unoserver package of this environment on its path. The notices'
fonts are mapped by fontconfig (documents/fonts.conf) for both ways."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path

from reception.config import Settings

log = logging.getLogger("reception.pdf")
ALIASES = Path(__file__).with_name("fonts.conf")
# unoserver gives up on a conversion after this long and exits; it is started again.
CONVERSION_TIMEOUT = 60
# LibreOffice is started afresh after this many conversions (its memory grows).
RECYCLE_AFTER = 500


class NoConverter(RuntimeError):
    """LibreOffice is not installed: PDFs cannot be made on this machine."""


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


# Debian's Noto CJK fonts are collections (JP, KR, SC, TC, HK faces sharing one CFF table,
# named after the JP face): LibreOffice would embed the SC glyphs under a JP name. The SC
# faces are taken out once into the data directory, named as SC faces, and the collections
# set aside for LibreOffice only.
COLLECTIONS = (
    "NotoSerifCJK-Regular",
    "NotoSerifCJK-Bold",
    "NotoSansCJK-Regular",
    "NotoSansCJK-Bold",
)
FONT_DIRS = (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/opentype/noto-cjk"))


def _collections() -> list[Path]:
    return [
        d / f"{name}.ttc" for name in COLLECTIONS for d in FONT_DIRS if (d / f"{name}.ttc").exists()
    ]


def _simplified_face(collection: Path, target: Path) -> None:
    """The collection's SC face as a font of its own, its CFF names saying SC (the same
    length as JP: the table is patched in place, not rebuilt)."""
    from fontTools.ttLib import TTCollection, TTFont
    from fontTools.ttLib.tables.DefaultTable import DefaultTable

    faces = TTCollection(str(collection), lazy=True)
    face: TTFont = next(f for f in faces.fonts if "CJKsc-" in str(f["name"].getDebugName(6)))
    face.recalcBBoxes = face.recalcTimestamp = False
    cff = DefaultTable("CFF ")
    cff.data = face.reader["CFF "].replace(b"CJKjp-", b"CJKsc-")
    face.tables["CFF "] = cff
    temporary = target.with_name(f".{target.name}.{os.getpid()}")
    face.save(str(temporary))
    temporary.replace(target)


def fontconfig_file(data_dir: Path) -> Path:
    """A fontconfig configuration for LibreOffice: the system's, the SC faces on their own,
    then the notices' font names (documents/fonts.conf). Written once into the data directory
    (atomic renames: several processes may do it at once)."""
    fonts = data_dir / "fonts"
    fonts.mkdir(parents=True, exist_ok=True)
    sources = _collections()
    for collection in sources:
        target = fonts / f"{collection.stem}-SC.otf"
        if not target.exists():
            _simplified_face(collection, target)
    rejected = "".join(f"<glob>{c}</glob>" for c in sources)
    text = (
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
        "<fontconfig>\n"
        '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n'
        f"  <dir>{fonts}</dir>\n"
        f"  <cachedir>{data_dir / 'fontconfig' / 'cache'}</cachedir>\n"
        + (f"  <selectfont><rejectfont>{rejected}</rejectfont></selectfont>\n" if rejected else "")
        + f'  <include ignore_missing="no">{ALIASES}</include>\n'
        "</fontconfig>\n"
    )
    conf = data_dir / "fontconfig" / "fonts.conf"
    if not conf.exists() or conf.read_text(encoding="utf-8") != text:
        conf.parent.mkdir(parents=True, exist_ok=True)
        temporary = conf.with_name(f".fonts.conf.{os.getpid()}")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(conf)
    return conf


def environment(settings: Settings) -> dict[str, str]:
    """LibreOffice's environment: the notices' fonts, and English messages in its logs."""
    return {
        **os.environ,
        "FONTCONFIG_FILE": str(fontconfig_file(settings.data_dir)),
        "SAL_USE_VCLPLUGIN": "svp",
    }


def address(settings: Settings) -> tuple[str, int] | None:
    """Where the warm converter listens (None: it is turned off)."""
    if not settings.pdf_server:
        return None
    host, _, port = settings.pdf_server.rpartition(":")
    return host or "127.0.0.1", int(port)


def listening(where: tuple[str, int], timeout: float = 0.5) -> bool:
    try:
        socket.create_connection(where, timeout=timeout).close()
    except OSError:
        return False
    return True


# ---------------------------------------------------------------- converting


def _warm(where: tuple[str, int], docx: bytes) -> bytes:
    from unoserver.client import UnoClient

    client = UnoClient(server=where[0], port=str(where[1]), host_location="remote")
    pdf = client.convert(indata=docx, convert_to="pdf")
    if not isinstance(pdf, bytes) or not pdf.startswith(b"%PDF"):
        raise OSError("unoserver returned no PDF")
    return pdf


def _cold(settings: Settings, docx: bytes) -> bytes:
    binary = soffice()
    if binary is None:
        raise NoConverter("未安装 LibreOffice(soffice),无法生成 PDF;可下载 DOCX 打印")
    with tempfile.TemporaryDirectory(prefix="reception-pdf-") as tmp:
        work = Path(tmp)
        (work / "doc.docx").write_bytes(docx)
        # Each conversion gets its own profile: LibreOffice runs one instance per profile.
        subprocess.run(
            [
                binary,
                f"-env:UserInstallation=file://{work / 'profile'}",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                str(work),
                str(work / "doc.docx"),
            ],
            check=True,
            capture_output=True,
            timeout=120,
            env=environment(settings),
        )
        return (work / "doc.pdf").read_bytes()


def convert(settings: Settings, docx: bytes) -> bytes:
    """The PDF of a DOCX: by the warm server when one answers, else by a cold LibreOffice."""
    where = address(settings)
    if where is not None:
        try:
            return _warm(where, docx)
        except (OSError, ConnectionError) as exc:
            log.warning("warm PDF converter at %s:%s not used (%s): cold start", *where, exc)
        except Exception as exc:  # an XML-RPC fault: LibreOffice could not read it
            log.warning("warm PDF converter failed (%s): cold start", type(exc).__name__)
    return _cold(settings, docx)


async def to_pdf(settings: Settings, docx: bytes) -> bytes:
    return await asyncio.to_thread(convert, settings, docx)


# ---------------------------------------------------------------- the server


def _unoserver_path() -> str:
    """The directory holding this environment's unoserver package."""
    spec = find_spec("unoserver")
    if spec is None or not spec.submodule_search_locations:
        raise NoConverter("unoserver is not installed in this environment")
    return str(Path(next(iter(spec.submodule_search_locations))).parent)


@dataclass
class PdfServer:
    """unoserver (and its LibreOffice) as a child process, started again when it stops."""

    settings: Settings
    process: subprocess.Popen[bytes] | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)
    _watcher: threading.Thread | None = None

    def unavailable(self) -> str | None:
        """Why the warm converter cannot run here (None: it can)."""
        if address(self.settings) is None:
            return "RECEPTION_PDF_SERVER is empty"
        if soffice() is None:
            return "LibreOffice (soffice) is not installed"
        python = self.settings.uno_python
        check = subprocess.run(
            [python, "-c", "import uno"], capture_output=True, timeout=30, check=False
        )
        if check.returncode != 0:
            return f"{python} cannot import uno (apt-get install python3-uno)"
        return None

    def _command(self) -> list[str]:
        where = address(self.settings)
        if where is None:
            raise NoConverter("RECEPTION_PDF_SERVER is empty")
        profile = self.settings.data_dir / "libreoffice" / f"profile-{where[1]}"
        boot = (
            "import sys; sys.path.append(sys.argv.pop(1)); "
            "from unoserver.server import main; sys.argv[0] = 'unoserver'; main()"
        )
        return [
            self.settings.uno_python, "-c", boot, _unoserver_path(),
            "--interface", where[0], "--port", str(where[1]),
            "--uno-port", str(where[1] + 1),
            "--executable", soffice() or "soffice",
            "--user-installation", str(profile),
            "--conversion-timeout", str(CONVERSION_TIMEOUT),
            "--stop-after", str(RECYCLE_AFTER),
            "--quiet",
        ]  # fmt: skip

    def _spawn(self) -> None:
        self.process = subprocess.Popen(
            self._command(),
            env=environment(self.settings),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its LibreOffice is stopped with it (the group)
        )

    def start(self, *, wait: float = 30.0) -> bool:
        """Start the server unless one already listens there; keep it running. True when a
        converter answers within `wait` seconds."""
        where = address(self.settings)
        if where is None:
            return False
        if listening(where):
            log.info("a PDF converter already listens on %s:%s", *where)
            return True
        why = self.unavailable()
        if why is not None:
            log.warning("no warm PDF converter (%s): PDFs are made by a cold LibreOffice", why)
            return False
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="pdf-server", daemon=True)
        self._watcher.start()
        return self.ready(wait)

    def ready(self, wait: float) -> bool:
        where = address(self.settings)
        deadline = time.monotonic() + wait
        while where is not None and time.monotonic() < deadline:
            if listening(where):
                return True
            time.sleep(0.2)
        return False

    def _watch(self) -> None:
        """Start it again when it stops (a stuck conversion, its recycling), with a pause
        that grows while it keeps failing at once."""
        pause = 1.0
        while not self._stopping.is_set():
            process = self.process
            if process is None:
                return
            started = time.monotonic()
            process.wait()
            if self._stopping.is_set():
                return
            pause = 1.0 if time.monotonic() - started > 60 else min(pause * 2, 60.0)
            log.warning("PDF converter stopped (exit %s): starting it again", process.returncode)
            if self._stopping.wait(pause):
                return
            self._spawn()

    def stop(self) -> None:
        self._stopping.set()
        process = self.process
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
