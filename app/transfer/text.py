"""Bytes of an uploaded file to text: UTF-8, UTF-16 with a byte-order mark, or the charset the
file part declares (`text/csv; charset=windows-1252` for an Outlook export). Anything else is
refused rather than guessed: a wrong guess would store mangled names."""

from __future__ import annotations

import codecs
from email.message import Message

from app.core.errors import UnsupportedMediaType

FILE_FIELD = "body.file"


def declared_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    message = Message()
    message["content-type"] = content_type
    charset = message.get_param("charset")
    return charset.strip() if isinstance(charset, str) and charset.strip() else None


def _refuse(detail: str, code: str) -> UnsupportedMediaType:
    return UnsupportedMediaType(
        detail, errors=[{"field": FILE_FIELD, "message": detail, "code": code}]
    )


def decode(data: bytes, content_type: str | None) -> str:
    charset = declared_charset(content_type)
    if charset is not None:
        try:
            info = codecs.lookup(charset)
            # Not every codec is a charset (`base64`, `rot13`, `zlib` turn bytes into bytes).
            if not getattr(info, "_is_text_encoding", True):
                raise LookupError(charset)
            encoding = info.name
        except (LookupError, ValueError):
            detail = f"The file's charset `{charset[:40]}` is unknown."
            raise _refuse(detail, "unknown_charset") from None
        if encoding == "utf-8":
            encoding = "utf-8-sig"  # a BOM is not part of the text
    elif data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"  # the BOM says which byte order, and is dropped
    else:
        encoding = "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise _refuse(
            f"The file is not valid {encoding.removesuffix('-sig')} text (byte {exc.start}). "
            "Save it as UTF-8, or name its charset on the file part's Content-Type "
            "(e.g. `text/csv; charset=windows-1252`).",
            "undecodable",
        ) from None
    except (UnicodeError, ValueError):  # codecs that refuse to decode at all (e.g. `idna`)
        raise _refuse(f"The file cannot be read as `{charset}`.", "undecodable") from None
    text = text.removeprefix("\ufeff")
    try:
        # Lone surrogates (`charset=unicode_escape` can make them) cannot be stored.
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _refuse("The file holds text that is not valid Unicode.", "undecodable") from None
    if "\x00" in text:
        raise _refuse("The file is binary; send a vCard or CSV text file.", "binary")
    return text
