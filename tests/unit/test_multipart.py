import pytest

from imagehost.web.multipart import MultipartError, boundary_of, parse_multipart, single_file
from tests.images import multipart


def parse(body: bytes, content_type: str):
    return parse_multipart(body, boundary_of(content_type))


def test_one_file_with_other_fields():
    body, ctype = multipart([("_xsrf", None, b"token"), ("file", "cat.png", b"\x89PNG data")])
    parts = parse(body, ctype)
    assert [p.name for p in parts] == ["_xsrf", "file"]
    part = single_file(parts)
    assert (part.filename, part.data) == ("cat.png", b"\x89PNG data")


def test_data_may_contain_crlf_and_dashes():
    data = b"a\r\n--not-the-boundary\r\nb\r\n"
    body, ctype = multipart([("file", "x.bin", data)])
    assert single_file(parse(body, ctype)).data == data


def test_not_multipart_is_415():
    with pytest.raises(MultipartError) as caught:
        boundary_of("application/json")
    assert caught.value.status == 415


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=a\x00b",
    ],
)
def test_missing_or_bad_boundary_is_400(content_type):
    with pytest.raises(MultipartError) as caught:
        boundary_of(content_type)
    assert caught.value.status == 400


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"no boundary at all",
        b'--b0undary42\r\nContent-Disposition: form-data; name="file"\r\n\r\nunterminated',
        b"--b0undary42\r\nno blank line after headers--b0undary42--",
        b"--b0undary42\r\nContent-Type: text/plain\r\n\r\nx\r\n--b0undary42--\r\n",
        b"--b0undary42\r\nbroken header line\r\n\r\nx\r\n--b0undary42--\r\n",
    ],
    ids=["empty", "no-boundary", "unterminated", "no-headers", "no-disposition", "bad-header"],
)
def test_malformed_bodies_are_400(body):
    with pytest.raises(MultipartError) as caught:
        parse(body, "multipart/form-data; boundary=b0undary42")
    assert caught.value.status == 400


def test_no_file_two_files_wrong_field():
    body, ctype = multipart([("title", None, b"hello")])
    with pytest.raises(MultipartError, match="no file"):
        single_file(parse(body, ctype))
    body, ctype = multipart([("file", "a.png", b"1"), ("file", "b.png", b"2")])
    with pytest.raises(MultipartError, match="one file per request"):
        single_file(parse(body, ctype))
    body, ctype = multipart([("image", "a.png", b"1")])
    with pytest.raises(MultipartError, match="part named 'file'"):
        single_file(parse(body, ctype))
