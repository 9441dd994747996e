"""Strip identifying metadata from JPEG, PNG and GIF uploads without re-encoding them.

Works on the file structure only (JPEG segments, PNG chunks, GIF blocks), so pixels never change.
"""

import re
import struct
import zlib
from dataclasses import dataclass


@dataclass(frozen=True)
class StrippedImage:
    """The stripped file and a short label for each kind of thing that was taken out."""

    data: bytes
    removed: tuple[str, ...]


def strip_metadata(data: bytes, fmt: str) -> StrippedImage:
    """The image without EXIF, XMP, IPTC, comments, text chunks or trailing bytes.

    `fmt` is "jpeg", "png" or "gif". The colour profile and the EXIF orientation are kept.
    Raises ValueError when the file's structure is malformed.
    """
    strippers = {"jpeg": _strip_jpeg, "png": _strip_png, "gif": _strip_gif}
    if fmt not in strippers:
        raise ValueError(f"unsupported image format: {fmt!r}")
    out, removed = strippers[fmt](data)
    return StrippedImage(data=out, removed=tuple(dict.fromkeys(removed)))


# --- EXIF orientation, shared by JPEG APP1 and PNG eXIf ---

_ORIENTATION_TAG = 0x0112


def _exif_orientation(tiff: bytes) -> int:
    """Orientation (1-8) from a TIFF-structured EXIF block; 1 when absent or unreadable."""
    if tiff.startswith(b"Exif\0\0"):
        tiff = tiff[6:]
    if len(tiff) < 8:
        return 1
    if tiff[:4] == b"II*\0":
        order = "<"
    elif tiff[:4] == b"MM\0*":
        order = ">"
    else:
        return 1
    (ifd,) = struct.unpack(order + "I", tiff[4:8])
    if ifd + 2 > len(tiff):
        return 1
    (count,) = struct.unpack(order + "H", tiff[ifd : ifd + 2])
    for entry in range(ifd + 2, ifd + 2 + 12 * count, 12):
        if entry + 12 > len(tiff):
            return 1
        tag, kind, n, value = struct.unpack(order + "HHIH", tiff[entry : entry + 10])
        if tag == _ORIENTATION_TAG:
            # A SHORT is left-justified in the 4-byte value field, whatever the byte order.
            return value if kind == 3 and n == 1 and 1 <= value <= 8 else 1
    return 1


def _orientation_only_tiff(orientation: int) -> bytes:
    """A TIFF header with one IFD holding nothing but the Orientation tag."""
    return b"MM\0*" + struct.pack(">IHHHIHHI", 8, 1, _ORIENTATION_TAG, 3, 1, orientation, 0, 0)


# --- JPEG ---

_SOF = {*range(0xC0, 0xD0)} - {0xC4, 0xC8, 0xCC}
# Segments a decoder needs: frames, Huffman and arithmetic tables, quantisation, DNL, DRI, DHP, EXP.
_JPEG_STRUCTURE = _SOF | {0xC4, 0xCC, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF}
_EOI, _SOS, _COM = 0xD9, 0xDA, 0xFE
_MARKER_AFTER_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_APP0, _APP1, _APP2, _APP13, _APP14 = 0xE0, 0xE1, 0xE2, 0xED, 0xEE
_XMP_IDS = (b"http://ns.adobe.com/xap/1.0/\0", b"http://ns.adobe.com/xmp/extension/\0")


def _jpeg_segment(marker: int, body: bytes) -> bytes:
    return bytes((0xFF, marker)) + (len(body) + 2).to_bytes(2, "big") + body


def _strip_jpeg(data: bytes) -> tuple[bytes, list[str]]:
    if not data.startswith(b"\xff\xd8"):
        raise ValueError("JPEG: does not start with an SOI marker")
    out = [b"\xff\xd8"]
    removed: list[str] = []
    pos = 2
    seen_frame = seen_scan = seen_exif = False
    while True:
        marker, pos = _read_jpeg_marker(data, pos)
        if marker == _EOI:
            out.append(b"\xff\xd9")
            break
        if pos + 2 > len(data):
            raise ValueError("JPEG: file ends inside a segment header")
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2 or pos + length > len(data):
            raise ValueError(f"JPEG: segment 0x{marker:02X} at offset {pos - 2} has a bad length")
        segment = data[pos - 2 : pos + length]
        body = data[pos + 2 : pos + length]
        pos += length

        if marker == _SOS:
            if not seen_frame:
                raise ValueError("JPEG: scan before any frame header")
            end = _entropy_coded_end(data, pos)
            out.append(segment)
            out.append(data[pos:end])
            pos = end
            seen_scan = True
        elif marker in _JPEG_STRUCTURE:
            seen_frame = seen_frame or marker in _SOF
            out.append(segment)
        elif marker == _APP0:
            # A JFIF header may embed a thumbnail of the original; keep only the density fields.
            if body.startswith(b"JFIF\0") and len(body) >= 14:
                header = body[:12] + b"\0\0"
                out.append(segment if body == header else _jpeg_segment(_APP0, header))
                if body != header:
                    removed.append("JFIF thumbnail (APP0)")
            else:
                removed.append("JFXX/other (APP0)")
        elif marker == _APP1 and body.startswith(b"Exif\0\0"):
            removed.append("EXIF (APP1)")
            # Viewers read the first EXIF segment only, so only its orientation counts.
            orientation = 1 if seen_exif else _exif_orientation(body[6:])
            seen_exif = True
            if orientation != 1:
                out.append(_jpeg_segment(_APP1, b"Exif\0\0" + _orientation_only_tiff(orientation)))
        elif marker == _APP1 and body.startswith(_XMP_IDS):
            removed.append("XMP (APP1)")
        elif marker == _APP2 and body.startswith(b"ICC_PROFILE\0"):
            out.append(segment)
        elif marker == _APP13:
            removed.append("IPTC/Photoshop (APP13)")
        elif marker == _APP14 and body.startswith(b"Adobe"):
            # Tells the decoder whether the colour channels are transformed (YCCK/CMYK).
            out.append(segment)
        elif 0xE0 <= marker <= 0xEF:
            removed.append(f"APP{marker - 0xE0}")
        elif marker == _COM:
            removed.append("comment (COM)")
        else:
            raise ValueError(f"JPEG: unexpected marker 0x{marker:02X} at offset {pos - length - 2}")

    if not seen_scan:
        raise ValueError("JPEG: no image scan before EOI")
    if pos < len(data):
        removed.append(f"{len(data) - pos} bytes after EOI")
    return b"".join(out), removed


def _read_jpeg_marker(data: bytes, pos: int) -> tuple[int, int]:
    """The marker code at `pos` (after any 0xFF fill bytes) and the offset just past it."""
    if pos >= len(data):
        raise ValueError("JPEG: file ends before the EOI marker")
    if data[pos] != 0xFF:
        raise ValueError(f"JPEG: expected a marker at offset {pos}, found 0x{data[pos]:02X}")
    while pos < len(data) and data[pos] == 0xFF:
        pos += 1
    if pos >= len(data):
        raise ValueError("JPEG: file ends before the EOI marker")
    if data[pos] == 0x00:
        raise ValueError(f"JPEG: stuffed byte outside entropy-coded data at offset {pos - 1}")
    return data[pos], pos + 1


def _entropy_coded_end(data: bytes, pos: int) -> int:
    """Offset of the first marker after a scan's entropy-coded data starting at `pos`."""
    # A marker is 0xFF followed by a code other than 0x00 (a stuffed 0xFF), a restart marker
    # or another 0xFF (a fill byte: the marker starts at the last 0xFF of the run).
    found = _MARKER_AFTER_SCAN.search(data, pos)
    if found is None:
        raise ValueError("JPEG: entropy-coded data runs to the end of the file without EOI")
    return found.start()


# --- PNG ---

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Chunks that decide what the pixels are, how they look (colour) or move (APNG); all else goes.
_PNG_KEEP = {
    b"IHDR", b"PLTE", b"IDAT", b"IEND",
    b"tRNS", b"bKGD", b"sBIT", b"hIST", b"pHYs",
    b"iCCP", b"sRGB", b"gAMA", b"cHRM", b"cICP", b"mDCV", b"cLLI",
    b"acTL", b"fcTL", b"fdAT",
}  # fmt: skip


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body).to_bytes(4, "big")
    return len(body).to_bytes(4, "big") + kind + body + crc


def _strip_png(data: bytes) -> tuple[bytes, list[str]]:
    if not data.startswith(_PNG_SIGNATURE):
        raise ValueError("PNG: bad signature")
    out = [_PNG_SIGNATURE]
    removed: list[str] = []
    pos = len(_PNG_SIGNATURE)
    seen_idat = seen_exif = False
    while True:
        if pos + 12 > len(data):
            raise ValueError("PNG: file ends before the IEND chunk")
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if not kind.isalpha():
            raise ValueError(f"PNG: bad chunk type {kind!r} at offset {pos}")
        name = kind.decode("ascii")
        if length > 0x7FFFFFFF or end > len(data):
            raise ValueError(f"PNG: {name} chunk at offset {pos} runs past the end of the file")
        if pos == len(_PNG_SIGNATURE) and (kind != b"IHDR" or length != 13):
            raise ValueError("PNG: does not start with a valid IHDR chunk")
        body = data[pos + 8 : end - 4]
        chunk = data[pos:end]
        pos = end

        if kind in _PNG_KEEP:
            if zlib.crc32(kind + body) != int.from_bytes(chunk[-4:], "big"):
                raise ValueError(f"PNG: {name} chunk has a bad CRC")
            out.append(chunk)
            seen_idat = seen_idat or kind == b"IDAT"
            if kind == b"IEND":
                break
        elif kind == b"eXIf":
            removed.append("eXIf")
            orientation = 1 if seen_exif else _exif_orientation(body)
            seen_exif = True
            if orientation != 1:
                out.append(_png_chunk(b"eXIf", _orientation_only_tiff(orientation)))
        elif kind[0:1].isupper():
            raise ValueError(f"PNG: unknown critical chunk {name}")
        else:
            removed.append(name)

    if not seen_idat:
        raise ValueError("PNG: no IDAT chunk")
    if pos < len(data):
        removed.append(f"{len(data) - pos} bytes after IEND")
    return b"".join(out), removed


# --- GIF ---

# Application extensions that drive display: the loop count (two names) and an ICC profile.
_GIF_KEEP_APPS = {b"NETSCAPE2.0", b"ANIMEXTS1.0", b"ICCRGBG1012"}
_GIF_GRAPHIC_CONTROL, _GIF_PLAIN_TEXT, _GIF_COMMENT, _GIF_APPLICATION = 0xF9, 0x01, 0xFE, 0xFF


def _strip_gif(data: bytes) -> tuple[bytes, list[str]]:
    if data[:6] not in (b"GIF87a", b"GIF89a"):
        raise ValueError("GIF: bad signature")
    if len(data) < 13:
        raise ValueError("GIF: file ends inside the logical screen descriptor")
    pos = 13 + _gif_colour_table_size(data[10])
    if pos > len(data):
        raise ValueError("GIF: file ends inside the global colour table")
    out = [data[:pos]]
    removed: list[str] = []
    frames = 0
    while True:
        if pos >= len(data):
            if not frames:
                raise ValueError("GIF: file ends before any image")
            # Many encoders leave the trailer off; every decoder copes, so supply it.
            out.append(b";")
            break
        introducer = data[pos]
        if introducer == 0x3B:
            if not frames:
                raise ValueError("GIF: trailer before any image")
            out.append(b";")
            pos += 1
            break
        if introducer == 0x2C:
            if pos + 11 > len(data):
                raise ValueError(f"GIF: image descriptor at offset {pos} is cut off")
            # Past the descriptor and local colour table sits the LZW code size, then sub-blocks.
            end = _skip_gif_sub_blocks(data, pos + 11 + _gif_colour_table_size(data[pos + 9]))
            out.append(data[pos:end])
            frames += 1
        elif introducer == 0x21:
            if pos + 2 > len(data):
                raise ValueError(f"GIF: extension at offset {pos} is cut off")
            label = data[pos + 1]
            end = _skip_gif_sub_blocks(data, pos + 2)
            if label in (_GIF_GRAPHIC_CONTROL, _GIF_PLAIN_TEXT):
                out.append(data[pos:end])
            elif label == _GIF_APPLICATION:
                app = data[pos + 3 : pos + 14] if data[pos + 2] == 11 else b""
                if app in _GIF_KEEP_APPS:
                    out.append(data[pos:end])
                elif app == b"XMP DataXMP":
                    removed.append("XMP application extension")
                else:
                    removed.append(f"application extension {app.decode('latin-1')!r}")
            elif label == _GIF_COMMENT:
                removed.append("comment extension")
            else:
                removed.append(f"extension 0x{label:02X}")
        else:
            raise ValueError(f"GIF: unexpected byte 0x{introducer:02X} at offset {pos}")
        pos = end

    if pos < len(data):
        removed.append(f"{len(data) - pos} bytes after the trailer")
    return b"".join(out), removed


def _gif_colour_table_size(packed: int) -> int:
    return 3 << ((packed & 0x07) + 1) if packed & 0x80 else 0


def _skip_gif_sub_blocks(data: bytes, pos: int) -> int:
    """Offset just past the chain of data sub-blocks starting at `pos` (and its terminator)."""
    while pos < len(data):
        size = data[pos]
        pos += 1 + size
        if size == 0:
            return pos
    raise ValueError("GIF: data sub-blocks run past the end of the file")
