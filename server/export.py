"""`GET /export/requests/<id>.csv`: a request's briefings as a CSV download. HTTP glue only.

Who may export what, the columns and the rows are decided in `resolvers.export`; here the bearer
token is read from the `Authorization` header, a coded refusal becomes 401 (with
`WWW-Authenticate: Bearer`) or 404 as JSON `{"code", "message"}`, and the rows are streamed as
they are read (`StreamingResponse`), UTF-8 with a byte order mark, never cached.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from resolvers.context import Services
from resolvers.errors import CodedError, ErrorCode
from resolvers.export import prepare_export

CSV_TYPE = "text/csv; charset=utf-8"
_STATUS = {ErrorCode.UNAUTHENTICATED: 401, ErrorCode.NOT_FOUND: 404, ErrorCode.BAD_USER_INPUT: 400}


def export_routes(*, services_ref: dict[str, Services]) -> list[BaseRoute]:
    """The CSV export route; `services_ref["services"]` is filled in by the app's lifespan."""

    async def export_request_csv(request: Request) -> Response:
        try:
            export = await prepare_export(
                services=services_ref["services"],
                authorization=request.headers.get("authorization"),
                request_id=request.path_params["request_id"],
            )
        except CodedError as error:
            status = _STATUS.get(error.code, 500)
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            body = {"code": error.code.value, "message": error.message}
            return JSONResponse(body, status_code=status, headers=headers)
        return StreamingResponse(
            (chunk.encode("utf-8") async for chunk in export.chunks()),
            media_type=CSV_TYPE,
            headers={
                "Content-Disposition": f'attachment; filename="{export.filename}"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    return [Route("/export/requests/{request_id}.csv", export_request_csv, methods=["GET"])]
