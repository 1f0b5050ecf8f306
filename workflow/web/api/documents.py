"""``/api/v1/cases/{code}/documents``: upload a dossier document (multipart), list the case's
documents, download one (CLI: ``ocop documents add|list|get``)."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Path, Query, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from workflow import documents
from workflow.web.api.auth import AppDep, CurrentActor
from workflow.web.api.problems import documented

router = APIRouter(prefix="/api/v1/cases", tags=["documents"])
Code = Annotated[str, Path(max_length=40)]
Kind = Annotated[str, Path(max_length=40)]


class Document(BaseModel):
    """One uploaded version of a kind of document."""

    case: str
    kind: str
    version: int
    sha256: str
    size: int
    media_type: str
    filename: str
    uploaded_by: str
    uploaded_at: str | None
    audit_seq: int


@router.post("/{code}/documents", status_code=201, response_model=Document,
             responses=documented(400, 401, 403, 404, 413, 422))
def upload(code: Code, app: AppDep, actor: CurrentActor,
           kind: Annotated[str, Form(max_length=40, description="the document kind, as "
                                     "`ocop documents kinds` lists them")],
           file: Annotated[UploadFile, File(description="PDF, JPEG or PNG")]) -> JSONResponse:
    """Upload a version of a kind of document: a kind already uploaded gets a new version, the
    earlier ones are kept. The type is judged by the content; too large: 413."""
    # One byte past the limit is enough to refuse; a larger file is not read into memory.
    data = file.file.read(app.settings.document_max_mb * 1024 * 1024 + 1)
    row = documents.add(app, actor, code, kind, file.filename, data)
    where = f"/api/v1/cases/{code}/documents/{kind}?version={row['version']}"
    return JSONResponse(row, status_code=201, headers={"Location": where})


@router.get("/{code}/documents", response_model=list[Document],
            responses=documented(401, 403, 404, 422))
def list_documents(code: Code, app: AppDep, actor: CurrentActor) -> list[dict[str, Any]]:
    """Every uploaded version, kinds in the catalogue's order, newest version first."""
    return [*documents.list(app, actor, code)]


BINARY = {"schema": {"type": "string", "format": "binary"}}


@router.get("/{code}/documents/{kind}", response_class=Response,
            responses={**documented(401, 403, 404, 409, 422), 200: {
                "description": "The document's bytes, as uploaded",
                "content": {media: BINARY for media in documents.MEDIA_TYPES}}})
def download(code: Code, kind: Kind, app: AppDep, actor: CurrentActor,
             version: Annotated[int | None, Query(ge=1, le=10**6)] = None) -> Response:
    """One version of a kind (the latest unless ``?version=N``), once its SHA-256 is found to
    be the one recorded at its upload (409 otherwise)."""
    row, data = documents.open(app, actor, code, kind, version)
    return Response(data, media_type=row["media_type"], headers={
        "Content-Disposition": disposition(row["filename"]), "Cache-Control": "no-store",
        "ETag": f'"{row["sha256"]}"'})


def disposition(filename: str) -> str:
    """``attachment`` with an ASCII name for old clients and the UTF-8 name (RFC 6266)."""
    plain = unicodedata.normalize("NFKD", filename.replace("đ", "d").replace("Đ", "D"))
    plain = plain.encode("ascii", "ignore").decode()
    plain = re.sub(r"[^A-Za-z0-9._ -]", "_", plain).strip() or "document"
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"
