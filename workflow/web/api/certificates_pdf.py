"""``GET /certificates/{number}.pdf``: the certificate as a signed PDF. Public like
``/verify``: anyone holding the number may download it (it states nothing the verification
page does not)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from workflow.errors import NotFound
from workflow.web.api.auth import AppDep
from workflow.web.api.problems import documented
from workflow.web.api.public import missing_page, page_or_problem, wants_json

router = APIRouter(tags=["public"])


@router.get("/certificates/{certificate_no:path}.pdf", response_class=Response,
            responses={**documented(409, 422), **page_or_problem(404),
                       200: {"content": {"application/pdf": {"schema": {
                           "type": "string", "format": "binary"}}},
                             "description": "The certificate, an A4 PDF signed by the office"}})
def certificate_pdf_file(certificate_no: str, request: Request, app: AppDep,
                         lang: Annotated[str, Query(pattern="^(vi|en)$")] = "vi") -> Response:
    """The certificate as an A4 PDF (Vietnamese; ``?lang=en`` for English), digitally signed by
    the office: a PDF reader shows the signature and any edit breaks it. An unknown number: a
    404 page (problem+json for a client asking for JSON); a certificate whose record fails the
    authenticity check: 409."""
    from workflow import certificate_pdf  # ReportLab and pyHanko: loaded on the first PDF

    try:
        body = certificate_pdf.render(app, certificate_no, lang)
    except NotFound as error:
        if wants_json(request):
            raise
        return missing_page(request, error)
    filename = "ocop-" + re.sub(r"[^A-Za-z0-9._-]", "_", certificate_no) + ".pdf"
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{filename}"',
                             "Cache-Control": "no-store"})
