"""Whatever the file holds, the import answers 200 or a 4xx problem — never a 500."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.transfer.helpers import PROBLEM, upload

PREFIXES = [
    b"",
    b"BEGIN:VCARD\r\n",
    b"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:",
    b"Rapport ID,Full Name,Email,Phone,Tags,Notes\r\n",
    b"First Name,Last Name,URL,Email Address,Company,Position,Connected On\r\n",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
]
# Pieces of the formats, so that random files get past the first checks.
PIECES = st.sampled_from(
    [
        b"\r\n",
        b"\n",
        b" ",
        b",",
        b";",
        b":",
        b'"',
        b"=",
        b"\\",
        b"BEGIN:VCARD\r\n",
        b"END:VCARD\r\n",
        b"FN:",
        b"EMAIL;TYPE=a,b:",
        b"TEL;VALUE=uri:tel:+44",
        b"N:;;;;",
        b"ORG:;",
        b"CATEGORIES:,,",
        b"UID:urn:uuid:",
        b"PHOTO;ENCODING=b:",
        b"NOTE;ENCODING=QUOTED-PRINTABLE:=C3=",
        b"item1.X-A;P=1;:",
        b"00000000-0000-0000-0000-000000000000",
        b"'=1+2",
        "Zoë 李".encode(),
        b"\x00",
        b"\xc3",
    ]
)
FILES = st.builds(
    lambda prefix, parts, tail: prefix + b"".join(parts) + tail,
    st.sampled_from(PREFIXES),
    st.lists(PIECES | st.binary(max_size=8), max_size=40),
    st.binary(max_size=16),
)
CHARSETS = st.sampled_from(["", "; charset=utf-8", "; charset=windows-1252", "; charset=utf-16"])


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(content=FILES, charset=CHARSETS)
async def test_any_file_is_200_or_a_problem(client, alice, content, charset):
    r = await upload(client, alice, content, content_type="text/plain" + charset)
    assert r.status_code == 200 or (
        400 <= r.status_code < 500 and r.headers["content-type"].startswith(PROBLEM)
    ), r.text
