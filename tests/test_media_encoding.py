"""media/encoding.py: every encoder's file decodes back to what was given (PNG pixels exactly, WAV and FLAC
samples exactly, video and lossy audio within a bound), files stored as given keep their bytes and report
their format and size, and bad input fails with a message naming the value."""

from __future__ import annotations

import io
import subprocess
import sys
import wave

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from trackio_callback.errors import MissingExtraError
from trackio_callback.media import encoding
from trackio_callback.media.encoding import (
    CATEGORY_COLORS,
    MAX_POINT_COUNT,
    POINT_COLOR,
    Encoded,
    audio_file,
    encode_audio,
    encode_image,
    encode_points,
    encode_video,
    frames_from_trackio_array,
    image_file,
    model_file,
    thumbnail,
    video_file,
)

RNG = np.random.default_rng(15)


def decoded_png(encoded: Encoded) -> Image.Image:
    assert encoded.format == "png" and encoded.data.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(encoded.data))
    assert image.format == "PNG" and (encoded.width, encoded.height) == image.size
    return image


def image_bytes(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


# -- encode_image ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "mode"),
    [((5, 7), "L"), ((5, 7, 1), "L"), ((5, 7, 3), "RGB"), ((5, 7, 4), "RGBA")],
)
def test_uint8_arrays_round_trip_exactly_in_their_mode(shape, mode):
    pixels = RNG.integers(0, 256, shape, dtype=np.uint8)
    image = decoded_png(encode_image(pixels))
    assert image.mode == mode and image.size == (7, 5)
    np.testing.assert_array_equal(np.asarray(image), pixels.reshape(5, 7, -1).squeeze(-1) if mode == "L" else pixels)


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_channels_first_arrays_are_transposed(channels):
    chw = RNG.integers(0, 256, (channels, 6, 9), dtype=np.uint8)
    image = decoded_png(encode_image(chw))
    assert image.size == (9, 6)
    np.testing.assert_array_equal(np.asarray(image).reshape(6, 9, channels), chw.transpose(1, 2, 0))


def test_a_non_contiguous_view_is_encoded_as_seen():
    pixels = RNG.integers(0, 256, (8, 10, 3), dtype=np.uint8)
    view = pixels[::2, ::-1]
    np.testing.assert_array_equal(np.asarray(decoded_png(encode_image(view))), view)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_float_pixels_are_scaled_from_0_1_rounded_and_clipped(dtype):
    values = np.array([[0.0, 1.0, 0.5, 0.25, 0.2], [1 / 255, -0.2, 1.7, np.nan, np.inf]], dtype=dtype)
    expected = np.array([[0, 255, 128, 64, 51], [1, 0, 255, 0, 255]], dtype=np.uint8)
    np.testing.assert_array_equal(np.asarray(decoded_png(encode_image(values))), expected)
    rgb = np.stack([values, np.ones_like(values), np.zeros_like(values)])  # CHW floats (the last side is not 1, 3, 4)
    decoded = np.asarray(decoded_png(encode_image(rgb)))
    np.testing.assert_array_equal(decoded[..., 0], expected)
    np.testing.assert_array_equal(decoded[..., 1], 255)
    np.testing.assert_array_equal(decoded[..., 2], 0)


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
def test_pil_images_keep_their_mode_and_pixels(mode):
    bands = len(mode)
    pixels = RNG.integers(0, 256, (4, 6, bands), dtype=np.uint8)
    source = Image.fromarray(pixels[..., 0] if bands == 1 else pixels).convert(mode)
    image = decoded_png(encode_image(source))
    assert image.mode == mode
    np.testing.assert_array_equal(np.asarray(image), np.asarray(source))


def test_other_pil_modes_become_grey_rgb_or_rgba():
    palette = Image.new("P", (3, 2))
    palette.putpalette([10, 20, 30, 200, 100, 0] + [0] * 762)
    palette.putdata([0, 1, 1, 0, 1, 0])
    image = decoded_png(encode_image(palette))
    assert image.mode == "RGB"
    assert np.asarray(image)[0].tolist() == [[10, 20, 30], [200, 100, 0], [200, 100, 0]]

    palette.info["transparency"] = 0
    transparent = decoded_png(encode_image(palette))
    assert transparent.mode == "RGBA" and np.asarray(transparent)[0, :, 3].tolist() == [0, 255, 255]

    bilevel = Image.fromarray(np.array([[0, 255], [255, 0]], dtype=np.uint8)).convert("1")
    grey = decoded_png(encode_image(bilevel))
    assert grey.mode == "L" and np.asarray(grey).tolist() == [[0, 255], [255, 0]]

    cmyk = Image.new("CMYK", (2, 2), (0, 255, 255, 0))  # red in ink
    assert decoded_png(encode_image(cmyk)).getpixel((0, 0)) == (255, 0, 0)


@pytest.mark.parametrize(
    ("pixels", "named"),
    [
        (np.zeros((2, 3, 4, 5), np.uint8), "(2, 3, 4, 5)"),
        (np.zeros((5, 6, 2), np.uint8), "(5, 6, 2)"),  # 2 channels, first side not a channel count
        (np.zeros((7,), np.uint8), "(7,)"),
        (np.zeros((0, 5, 3), np.uint8), "(0, 5, 3)"),
        (np.zeros((4, 5, 3), np.int64), "int64"),
        (np.zeros((4, 5), bool), "bool"),
        (np.zeros((4, 5), np.uint16), "uint16"),
        (np.array([["a"]]), "<U1"),
    ],
)
def test_unstorable_pixels_name_the_shape_or_dtype(pixels, named):
    with pytest.raises(ValueError, match="cannot be stored") as raised:
        encode_image(pixels)
    assert named in str(raised.value) and "accepted" in str(raised.value)


# -- thumbnail and image_file -------------------------------------------------------------------------


def halves(width: int, height: int) -> Image.Image:
    """Red left half, blue right half."""
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[:, : width // 2, 0] = 255
    pixels[:, width // 2 :, 2] = 255
    return Image.fromarray(pixels)


@pytest.mark.parametrize(("width", "height"), [(1000, 400), (300, 2000), (257, 257)])
def test_thumbnails_fit_256_keep_the_aspect_and_the_picture(width, height):
    small = Image.open(io.BytesIO(thumbnail(encode_image(halves(width, height)).data)))
    assert small.format == "WEBP" and max(small.size) == 256
    assert abs(small.width / small.height - width / height) < 0.02
    assert close(small.getpixel((small.width // 4, small.height // 2)), (255, 0, 0))  # lossy: within a few levels
    assert close(small.getpixel((small.width * 3 // 4, small.height // 2)), (0, 0, 255))


def close(pixel: tuple, expected: tuple, tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


def test_small_light_web_images_are_their_own_thumbnail_and_others_are_re_encoded():
    for fmt in ("PNG", "JPEG", "GIF", "WEBP"):
        data = image_bytes(halves(200, 100), fmt)
        assert thumbnail(data) == data
    bmp = image_bytes(halves(40, 20), "BMP")
    webp = Image.open(io.BytesIO(thumbnail(bmp)))
    assert webp.format == "WEBP" and webp.size == (40, 20) and close(webp.getpixel((5, 10)), (255, 0, 0))
    assert max(Image.open(io.BytesIO(thumbnail(image_bytes(halves(200, 100), "PNG"), max_side=50))).size) == 50
    heavy = image_bytes(Image.fromarray(np.random.default_rng(0).integers(0, 256, (200, 200, 3), np.uint8)), "PNG")
    assert len(heavy) > 16 * 1024 and len(thumbnail(heavy)) < len(heavy) / 4  # a photo-sized PNG: re-encoded


def test_thumbnails_keep_alpha_and_take_an_animations_first_frame():
    rgba = Image.fromarray(np.full((600, 300, 4), (10, 200, 30, 77), np.uint8))
    small = Image.open(io.BytesIO(thumbnail(encode_image(rgba).data)))
    assert small.mode == "RGBA" and small.size == (128, 256)
    assert close(small.getpixel((5, 5)), (10, 200, 30, 77))  # alpha kept; lossy colour
    frames = [Image.new("RGB", (400, 400), color) for color in ((255, 0, 0), (0, 255, 0))]
    animation = image_bytes(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    first = Image.open(io.BytesIO(thumbnail(animation)))
    assert first.size == (256, 256) and close(first.convert("RGB").getpixel((100, 100)), (255, 0, 0))


def test_thumbnail_refuses_what_is_not_an_image():
    with pytest.raises(ValueError, match="11 bytes"):
        thumbnail(b"hello world")
    with pytest.raises(ValueError, match="max_side"):
        thumbnail(image_bytes(halves(4, 4), "PNG"), max_side=0)


@pytest.mark.parametrize(
    ("fmt", "stored"),
    [("PNG", "png"), ("JPEG", "jpeg"), ("GIF", "gif"), ("WEBP", "webp"), ("BMP", "bmp"), ("TIFF", "tiff")],
)
def test_image_files_are_kept_as_given_with_format_and_size_from_the_header(fmt, stored):
    data = image_bytes(halves(33, 21), fmt)
    assert image_file(data) == Encoded(data, stored, 33, 21)


def test_image_file_refuses_unknown_bytes_and_formats_a_browser_cannot_show():
    with pytest.raises(ValueError, match=r"4 bytes, starting b'abcd'"):
        image_file(b"abcd")
    with pytest.raises(ValueError, match="not a readable PNG, JPEG"):
        image_file(image_bytes(halves(4, 4), "PPM"))


# -- audio -------------------------------------------------------------------------------------------


def wav_samples(data: bytes) -> tuple[np.ndarray, int, int]:
    with wave.open(io.BytesIO(data), "rb") as file:
        assert file.getsampwidth() == 2
        frames = np.frombuffer(file.readframes(file.getnframes()), "<i2")
        return frames.reshape(-1, file.getnchannels()), file.getframerate(), file.getnchannels()


def ffmpeg_pcm(data: bytes, suffix: str, tmp_path, channels: int) -> np.ndarray:
    """The file decoded to 16-bit PCM by the same ffmpeg binary."""
    path = tmp_path / f"audio.{suffix}"
    path.write_bytes(data)
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-v",
        "error",
        "-i",
        str(path),
        "-f",
        "s16le",
        "-ac",
        str(channels),
        "-",
    ]
    out = subprocess.run(command, capture_output=True, check=True).stdout
    return np.frombuffer(out, "<i2").reshape(-1, channels)


def test_int16_samples_are_stored_as_is_in_wav():
    mono = RNG.integers(-32768, 32768, 1000, dtype=np.int16)
    encoded = encode_audio(mono, 8000)
    samples, rate, channels = wav_samples(encoded.data)
    assert (rate, channels, encoded.format, encoded.duration) == (8000, 1, "wav", 0.125)
    np.testing.assert_array_equal(samples[:, 0], mono)
    stereo = RNG.integers(-32768, 32768, (300, 2), dtype=np.int16)
    samples, rate, channels = wav_samples(encode_audio(stereo, np.int64(44100), "WAV").data)
    assert (rate, channels) == (44100, 2)
    np.testing.assert_array_equal(samples, stereo)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_float_samples_are_peak_normalised_as_trackio_does(dtype):
    # trackio 0.43: NaN -> 0, divide by max |x|, times 32767, truncated toward zero
    values = np.array([0.0, 1.0, -2.0, 0.5, np.nan, -0.25], dtype=dtype)
    samples, _, _ = wav_samples(encode_audio(values, 16000).data)
    assert samples[:, 0].tolist() == [0, 16383, -32767, 8191, 0, -4095]
    silent, _, _ = wav_samples(encode_audio(np.zeros(4, dtype), 16000).data)
    assert silent[:, 0].tolist() == [0, 0, 0, 0]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (np.array([3 * 65536, -65536, 65535, -1], np.int32), [3, -1, 0, -1]),
        (np.array([0, 32768, 65535], np.uint16), [-32768, 0, 32767]),
        (np.array([0, 128, 255], np.uint8), [-32768, 128, 32767]),
        (np.array([-128, 0, 127], np.int8), [-32768, 0, 32512]),
        (np.array([1, -2, 300], ">i2"), [1, -2, 300]),
    ],
)
def test_other_integer_samples_are_scaled_to_int16_as_trackio_does(values, expected):
    assert wav_samples(encode_audio(values, 8000).data)[0][:, 0].tolist() == expected


@pytest.mark.parametrize(
    ("samples", "rate", "fmt", "named"),
    [
        (np.zeros(10, np.int64), 8000, "wav", "int64"),
        (np.zeros((2, 3, 4), np.int16), 8000, "wav", "(2, 3, 4)"),
        (np.zeros((2, 16000), np.float32), 8000, "wav", "transpose"),
        (np.zeros(10, np.int16), 0, "wav", "0"),
        (np.zeros(10, np.int16), 1.5, "wav", "1.5"),
        (np.zeros(10, np.int16), True, "wav", "True"),
        (np.zeros(10, np.int16), 8000, "aac", "'aac'"),
    ],
)
def test_unstorable_audio_names_the_value(samples, rate, fmt, named):
    with pytest.raises(ValueError) as raised:
        encode_audio(samples, rate, fmt)
    assert named in str(raised.value)


def test_flac_is_lossless(tmp_path):
    stereo = RNG.integers(-20000, 20000, (4000, 2), dtype=np.int16)
    encoded = encode_audio(stereo, 22050, "flac")
    assert encoded.format == "flac" and encoded.data[:4] == b"fLaC" and encoded.duration == 4000 / 22050
    np.testing.assert_array_equal(ffmpeg_pcm(encoded.data, "flac", tmp_path, 2), stereo)


@pytest.mark.parametrize(("fmt", "magic"), [("mp3", (b"ID3", b"\xff\xfb")), ("ogg", (b"OggS",))])
def test_lossy_audio_keeps_the_tone_and_length(fmt, magic, tmp_path):
    rate = 16000
    tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate)
    encoded = encode_audio(tone, rate, fmt)
    assert encoded.format == fmt and encoded.duration == 1.0 and encoded.data.startswith(magic)
    decoded = ffmpeg_pcm(encoded.data, fmt, tmp_path, 1)[:, 0].astype(np.float64)
    assert abs(len(decoded) - rate) <= 1152  # codec framing, at most one MP3 frame
    spectrum = np.abs(np.fft.rfft(decoded[:rate]))
    assert abs(np.argmax(spectrum) * rate / min(len(decoded), rate) - 440) < 2
    rms = np.sqrt(np.mean(decoded[1000:-1000] ** 2))
    assert abs(rms - 32767 / np.sqrt(2)) / (32767 / np.sqrt(2)) < 0.1  # peak-normalised to full scale


def test_audio_files_are_kept_as_given_with_a_wav_duration_from_its_header():
    wav = encode_audio(np.zeros(2205, np.int16), 44100).data
    assert audio_file(wav, ".wav") == Encoded(wav, "wav", duration=0.05)
    assert audio_file(b"ID3 not decoded", ".MP3") == Encoded(b"ID3 not decoded", "mp3")
    assert audio_file(b"RIFF but broken", "wav") == Encoded(b"RIFF but broken", "wav")
    for suffix in ("", ".", "a/b", "../wav", "toolongsuffix"):
        with pytest.raises(ValueError, match="suffix"):
            audio_file(b"x", suffix)


# -- video -------------------------------------------------------------------------------------------


def moving_frames(count: int, height: int, width: int) -> np.ndarray:
    """Smooth moving colour waves: what a codec compresses well, unlike noise."""
    t = np.arange(count)[:, None, None]
    y, x = np.arange(height)[None, :, None], np.arange(width)[None, None, :]
    red = 128 + 100 * np.sin((x + 3 * t) / 9) + 0 * y
    green = 128 + 100 * np.cos((y - 2 * t) / 11) + 0 * x
    blue = (x + y + 4 * t) % 200 + 20
    return np.stack([red, green, blue], axis=-1).astype(np.uint8)


def decoded_video(data: bytes, suffix: str, tmp_path) -> tuple[dict, np.ndarray]:
    path = tmp_path / f"video.{suffix}"
    path.write_bytes(data)
    frames = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
    meta = next(frames)
    width, height = meta["size"]
    return meta, np.stack([np.frombuffer(frame, np.uint8).reshape(height, width, 3) for frame in frames])


@pytest.mark.parametrize(("fmt", "bound"), [("mp4", 6.0), ("webm", 6.0), ("gif", 10.0)])
def test_videos_decode_to_the_frames_given(fmt, bound, tmp_path):
    frames = moving_frames(12, 48, 64)
    encoded = encode_video(frames, 12, fmt)
    assert (encoded.format, encoded.width, encoded.height, encoded.duration) == (fmt, 64, 48, 1.0)
    meta, decoded = decoded_video(encoded.data, fmt, tmp_path)
    assert decoded.shape == frames.shape
    assert np.abs(decoded.astype(np.int16) - frames).mean() < bound
    if fmt != "gif":
        assert meta["fps"] == pytest.approx(12)


def test_mp4_starts_fast_takes_fractional_fps_and_pads_odd_sizes(tmp_path):
    frames = moving_frames(6, 31, 17)
    encoded = encode_video(frames, 29.97)
    assert encoded.data[4:8] == b"ftyp"
    assert 0 < encoded.data.find(b"moov") < encoded.data.find(b"mdat")  # index before the data: plays while loading
    assert (encoded.width, encoded.height, encoded.duration) == (17, 31, 6 / 29.97)
    meta, decoded = decoded_video(encoded.data, "mp4", tmp_path)
    assert meta["fps"] == pytest.approx(29.97) and decoded.shape == (6, 32, 18, 3)  # one black row and column
    assert np.abs(decoded[:, :31, :17].astype(np.int16) - frames).mean() < 10
    webm = encode_video(frames, 5, "webm")
    assert decoded_video(webm.data, "webm", tmp_path)[1].shape == (6, 31, 17, 3)  # VP9 keeps odd sizes


@pytest.mark.parametrize(
    ("frames", "fps", "fmt", "named"),
    [
        (np.zeros((2, 8, 8, 4), np.uint8), 10, "mp4", "(2, 8, 8, 4)"),
        (np.zeros((2, 3, 8, 8), np.uint8), 10, "mp4", "(2, 3, 8, 8)"),
        (np.zeros((2, 8, 8, 3), np.float32), 10, "mp4", "float32"),
        (np.zeros((0, 8, 8, 3), np.uint8), 10, "mp4", "(0, 8, 8, 3)"),
        (np.zeros((2, 8, 8, 3), np.uint8), 0, "mp4", "fps"),
        (np.zeros((2, 8, 8, 3), np.uint8), float("nan"), "mp4", "nan"),
        (np.zeros((2, 8, 8, 3), np.uint8), 10, "avi", "'avi'"),
    ],
)
def test_unencodable_video_names_the_value(frames, fps, fmt, named):
    with pytest.raises(ValueError) as raised:
        encode_video(frames, fps, fmt)
    assert named in str(raised.value)


def test_a_trackio_video_array_becomes_height_width_channel_frames():
    video = RNG.integers(0, 256, (4, 3, 5, 6), dtype=np.uint8)  # (F, C, H, W)
    np.testing.assert_array_equal(frames_from_trackio_array(video), video.transpose(0, 2, 3, 1))
    grey = RNG.integers(0, 256, (4, 1, 5, 6), dtype=np.uint8)
    frames = frames_from_trackio_array(grey)
    assert frames.shape == (4, 5, 6, 3)
    assert all(np.array_equal(frames[..., c], grey[:, 0]) for c in range(3))


@pytest.mark.parametrize(
    ("batch", "grid"),
    [(1, [[0]]), (2, [[0, 1]]), (3, [[0, 1], [2, None]]), (5, [[0, 1, 2, 3], [4, None, None, None]])],
)
def test_a_batch_is_tiled_row_by_row_into_trackios_power_of_two_grid(batch, grid):
    # video b is filled with 10 * (b + 1) + frame index: every tile says which video and frame it shows
    videos = np.zeros((batch, 2, 3, 4, 5), np.uint8)
    for b in range(batch):
        for f in range(2):
            videos[b, f] = 10 * (b + 1) + f
    frames = frames_from_trackio_array(videos)
    assert frames.shape == (2, 4 * len(grid), 5 * len(grid[0]), 3)
    for r, row in enumerate(grid):
        for c, b in enumerate(row):
            tile = frames[:, r * 4 : (r + 1) * 4, c * 5 : (c + 1) * 5]
            for f in range(2):
                assert np.all(tile[f] == (0 if b is None else 10 * (b + 1) + f))


@pytest.mark.parametrize(
    ("array", "named"),
    [
        (np.zeros((2, 3, 4, 5), np.float32), "float32"),
        (np.zeros((3, 4, 5), np.uint8), "(3, 4, 5)"),
        (np.zeros((2, 4, 5, 6), np.uint8), "(2, 4, 5, 6)"),
        (np.zeros((2, 8, 8, 3), np.uint8), "transpose(0, 3, 1, 2)"),
    ],
)
def test_unstorable_trackio_video_arrays_name_the_value(array, named):
    with pytest.raises(ValueError) as raised:
        frames_from_trackio_array(array)
    assert named in str(raised.value)


def test_video_files_are_kept_as_given(tmp_path):
    mp4 = encode_video(moving_frames(2, 8, 8), 4).data
    assert video_file(mp4, ".MP4") == Encoded(mp4, "mp4")
    gif = encode_video(moving_frames(2, 10, 14), 4, "gif").data
    assert video_file(gif, "gif") == Encoded(gif, "gif", 14, 10)
    assert video_file(b"moov", ".mov") == Encoded(b"moov", "mov")
    with pytest.raises(ValueError, match="'mp4/../x'"):
        video_file(b"x", "mp4/../x")


# -- ffmpeg missing or failing -----------------------------------------------------------------------


def test_without_imageio_ffmpeg_video_and_compressed_audio_say_which_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # import imageio_ffmpeg now raises ImportError
    for call in (
        lambda: encode_video(moving_frames(2, 8, 8), 4, "gif"),
        lambda: encode_audio(np.zeros(100, np.int16), 8000, "flac"),
    ):
        with pytest.raises(MissingExtraError, match=r"pip install 'trackio-callback\[video\]'") as raised:
            call()
        assert isinstance(raised.value, ImportError) and "imageio-ffmpeg" in str(raised.value)
    assert encode_audio(np.zeros(100, np.int16), 8000).format == "wav"  # WAV needs no extra


def test_an_ffmpeg_failure_raises_with_ffmpegs_own_message():
    chunks = (b"\0" * 65536 for _ in range(200))  # more than a pipe holds: ffmpeg exits while input is still written
    with pytest.raises(RuntimeError, match=r"could not encode test audio \(exit code [1-9]\d*\): .*no_such_codec"):
        encoding._ffmpeg("test audio", ["-f", "s16le", "-ar", "8000"], chunks, ["-c:a", "no_such_codec"], "wav")


# -- 3D ----------------------------------------------------------------------------------------------


def parsed_ply(data: bytes) -> np.ndarray:
    header, body = data.split(b"end_header\n", 1)
    lines = header.decode("ascii").splitlines()
    assert lines[:2] == ["ply", "format binary_little_endian 1.0"]
    count = int(next(line for line in lines if line.startswith("element vertex")).split()[2])
    types = {"float": "<f4", "uchar": "u1"}
    fields = [(line.split()[2], types[line.split()[1]]) for line in lines if line.startswith("property")]
    assert [name for name, _ in fields] == ["x", "y", "z", "red", "green", "blue", "category"]
    vertices = np.frombuffer(body, dtype=np.dtype(fields))
    assert len(vertices) == count
    return vertices


def xyz(vertices: np.ndarray) -> np.ndarray:
    return np.stack([vertices["x"], vertices["y"], vertices["z"]], axis=1)


def rgb(vertices: np.ndarray) -> np.ndarray:
    return np.stack([vertices["red"], vertices["green"], vertices["blue"]], axis=1)


def test_points_become_a_ply_with_their_coordinates_and_colours():
    positions = RNG.normal(size=(50, 3))
    encoded = encode_points(positions)
    assert encoded.format == "ply" and encoded.width is None
    vertices = parsed_ply(encoded.data)
    np.testing.assert_array_equal(xyz(vertices), positions.astype(np.float32))
    assert (rgb(vertices) == POINT_COLOR).all() and (vertices["category"] == 0).all()

    categories = np.array([1, 14, 3, 1], dtype=np.float64)
    vertices = parsed_ply(encode_points(np.column_stack([positions[:4], categories])).data)
    assert vertices["category"].tolist() == [1, 14, 3, 1]
    assert rgb(vertices).tolist() == [list(CATEGORY_COLORS[c - 1]) for c in (1, 14, 3, 1)]
    assert CATEGORY_COLORS[0] == (31, 119, 180)

    colors = RNG.integers(0, 256, (4, 3))
    for given in (np.column_stack([positions[:4], colors]), np.column_stack([positions[:4], colors / 255])):
        vertices = parsed_ply(encode_points(given).data)
        np.testing.assert_array_equal(rgb(vertices), colors)
    ints = np.column_stack([np.arange(12).reshape(4, 3), colors]).astype(np.uint8)
    np.testing.assert_array_equal(xyz(parsed_ply(encode_points(ints).data)), ints[:, :3])


def test_large_point_clouds_are_thinned_evenly_to_trackios_limit():
    positions = np.arange(3 * (MAX_POINT_COUNT + 7), dtype=np.float32).reshape(-1, 3)
    vertices = parsed_ply(encode_points(positions).data)
    assert len(vertices) == MAX_POINT_COUNT
    kept = xyz(vertices)
    np.testing.assert_array_equal(kept[0], positions[0])
    np.testing.assert_array_equal(kept[-1], positions[-1])
    assert (np.diff(kept[:, 0]) > 0).all()


@pytest.mark.parametrize(
    ("points", "named"),
    [
        (np.zeros((5, 5)), "(5, 5)"),
        (np.zeros((0, 3)), "(0, 3)"),
        (np.zeros(3), "(3,)"),
        (np.array([[0, 0, np.nan]]), "NaN"),
        (np.array([[0, 0, 0, 0]]), "1..14"),
        (np.array([[0, 0, 0, 1.5]]), "1.5"),
        (np.array([[0, 0, 0, 300, 0, 0]]), "300"),
        (np.array([["a", "b", "c"]]), "<U1"),
    ],
)
def test_unstorable_points_name_the_value(points, named):
    with pytest.raises(ValueError) as raised:
        encode_points(points)
    assert named in str(raised.value)


def test_model_files_are_kept_as_given_when_a_viewer_reads_their_format():
    for suffix, fmt in ((".glb", "glb"), (".GLTF", "gltf"), ("obj", "obj"), (".stl", "stl"), (".spz", "spz")):
        assert model_file(b"bytes", suffix) == Encoded(b"bytes", fmt)
    with pytest.raises(ValueError, match=r"'\.fbx'.*glb, gltf"):
        model_file(b"bytes", ".fbx")
