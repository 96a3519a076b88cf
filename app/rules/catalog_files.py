"""Catalog files through the browser: a service file or a zipped catalog folder
uploaded for import, and the whole catalog downloaded as a zip."""

import os
import re
import zipfile
from io import BytesIO
from pathlib import Path, PurePosixPath
from tempfile import TemporaryDirectory

from sqlmodel import Session

from app.rules.catalog import CatalogFileError, ImportReport, export_catalog, import_catalog
from app.storage.models import User

# --- catalog files uploaded in the browser -----------------------------------------------

MAX_UNPACKED_BYTES = 20 * 1024 * 1024
MAX_FILES = 1000


def _safe_name(name: str) -> str:
    base = PurePosixPath(name.replace("\\", "/")).name
    return re.sub(r"[^\w.\- ()]", "_", base)[:120] or "upload"


def unpack_upload(filename: str, content: bytes, into: Path) -> Path:
    """Writes an uploaded catalog file (one .toml service file, or a .zip of a catalog
    folder, its files at the top or in one folder) into a new folder named after the
    upload, for import_catalog. Raises CatalogFileError for an upload that is neither."""
    name = _safe_name(filename)
    if not name.lower().endswith((".toml", ".zip")) or name.strip(".") == "":
        raise CatalogFileError([f"{name}: upload a service file (.toml) or a .zip of a "
                                "catalog folder"])
    folder = into / name
    folder.mkdir()
    if name.lower().endswith(".toml"):
        (folder / name).write_bytes(content)
        return folder
    try:
        archive = zipfile.ZipFile(BytesIO(content))
        members = [info for info in archive.infolist()
                   if not info.is_dir() and info.filename.lower().endswith(".toml")
                   and not info.filename.startswith("__MACOSX/")]
    except (zipfile.BadZipFile, ValueError):
        raise CatalogFileError([f"{name}: not a .zip file that can be read"]) from None
    folders = {PurePosixPath(info.filename).parent for info in members}
    if len(folders) > 1:
        raise CatalogFileError([f"{name}: holds .toml files in several folders; zip one "
                                "catalog folder"])
    if len(members) > MAX_FILES or sum(i.file_size for i in members) > MAX_UNPACKED_BYTES:
        raise CatalogFileError([f"{name}: too large for a catalog"])
    for info in members:
        (folder / _safe_name(info.filename)).write_bytes(archive.read(info))
    return folder


def import_upload(session: Session, *, filename: str, content: bytes, by: User) -> ImportReport:
    """Imports an uploaded catalog file exactly as `baton catalog import` imports a folder
    (same checks, nothing imported on any problem, audited); problems name the files as
    the admin knows them, not by where they were unpacked."""
    with TemporaryDirectory(prefix="baton-import-") as tmp:
        folder = unpack_upload(filename, content, Path(tmp))
        try:
            return import_catalog(session, folder, by=by)
        except CatalogFileError as error:
            raise CatalogFileError([
                problem.replace(f"{folder}{os.sep}", "").replace(str(folder), folder.name)
                for problem in error.problems
            ]) from None


def export_zip(session: Session) -> bytes:
    """The whole catalog as `baton catalog export` writes it, zipped."""
    with TemporaryDirectory(prefix="baton-export-") as tmp:
        paths = export_catalog(session, Path(tmp))
        buffer = BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in paths:
                archive.write(path, path.name)
    return buffer.getvalue()
