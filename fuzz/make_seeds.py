#!/usr/bin/env python3
"""Writes fuzz/seeds/<target>/ from the sample traffic in ../shared/corpus.

Seeds are small slices of real sessions (a few KB each), with the fixed-size headers the
structured targets read first (see src/lib.rs): SessionInput = seed u64 LE, flags u8, 8 chunk
sizes; ChunkedInput = flags u8, 8 chunk sizes. Run it again after the corpus changes; the
output is deterministic.
"""
import os
import random
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "..", "shared", "corpus")
if len(sys.argv) > 1:
    CORPUS = sys.argv[1]
SEEDS = os.path.join(HERE, "seeds")
MAX_SEED = 4096
PER_TARGET = 24

rng = random.Random(8)


def read(name):
    with open(os.path.join(CORPUS, name), "rb") as f:
        return f.read()


def sessions(stream, start, contains=None):
    """Splits a stream at each line that starts with `start` (or holds `contains`)."""
    out, cur = [], []
    for line in stream.splitlines(keepends=True):
        if (line.startswith(start) if contains is None else contains in line) and cur:
            out.append(b"".join(cur))
            cur = []
        cur.append(line)
    if cur:
        out.append(b"".join(cur))
    return out


def slices(stream, n=PER_TARGET, size=MAX_SEED):
    """n slices of the stream, cut at line boundaries, spread over it."""
    lines = stream.splitlines(keepends=True)
    out = []
    step = max(1, len(lines) // n)
    for i in range(0, len(lines), step):
        buf = b""
        for line in lines[i:]:
            if len(buf) + len(line) > size:
                break
            buf += line
        if buf:
            out.append(buf)
        if len(out) == n:
            break
    return out


def session_header(flags):
    chunks = bytes(rng.choice([0, 0, 1, 3, 7, 64, 200, 255]) for _ in range(8))
    return struct.pack("<Q", rng.getrandbits(64)) + bytes([flags]) + chunks


def chunked_header(flags):
    chunks = bytes(rng.choice([0, 1, 2, 5, 13, 100, 255]) for _ in range(8))
    return bytes([flags]) + chunks


def write(target, seeds):
    d = os.path.join(SEEDS, target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for i, s in enumerate(seeds):
        with open(os.path.join(d, f"seed-{i:03}"), "wb") as f:
            f.write(s)


def capped(items, n=PER_TARGET):
    items = [s[:MAX_SEED] for s in items]
    return items[:n]


def between(stream, start, end):
    """Every piece of `stream` from just after `start` through `end`."""
    out, at = [], 0
    while True:
        i = stream.find(start, at)
        if i < 0:
            return out
        j = stream.find(end, i + len(start))
        if j < 0:
            return out
        out.append(stream[i + len(start): j + len(end)])
        at = j + len(end)


smtp_c = read("smtp-client-stream.txt")
smtp_s = read("smtp-server-stream.txt")
imap_c = read("imap-client-stream.txt")
imap_s = read("imap-server-stream.txt")
pop3_c = read("pop3-client-stream.txt")
pop3_s = read("pop3-server-stream.txt")

# SMTP
smtp_sessions = capped(sessions(smtp_c, b"EHLO"))
for t in ["smtp_decode_command", "smtp_roundtrip_command", "smtp_differential"]:
    write(t, smtp_sessions)
for t in ["smtp_decode_reply", "smtp_roundtrip_reply"]:
    write(t, slices(smtp_s))
data_bodies = capped(between(smtp_c, b"DATA\r\n", b"\r\n.\r\n"))
write("smtp_decode_data", [chunked_header(i % 2) + b for i, b in enumerate(data_bodies)])
write("smtp_server_session",
      [session_header(f) + s for f, s in zip([0, 8, 8 | 64, 1, 2, 4 | 8, 16, 8 | 32] * 3, smtp_sessions)])
write("smtp_client_session",
      [session_header(f) + s for f, s in zip([0, 2, 8, 16, 1, 4, 32, 64] * 3, capped(sessions(smtp_s, b"220 ")))])

# IMAP
imap_sessions = capped(sessions(imap_c, b"", b" CAPABILITY\r\n"))
imap_responses = slices(imap_s)
for t in ["imap_decode_command", "imap_roundtrip_command"]:
    write(t, imap_sessions)
write("imap_decode_response", imap_responses)
write("imap_roundtrip_response", [bytes([i % 4]) + r for i, r in enumerate(imap_responses)])
write("imap_frame",
      [chunked_header(0) + s for s in imap_sessions[:12]] + [chunked_header(1 | (i % 2) * 2) + r for i, r in enumerate(imap_responses[:12])])
write("imap_server_session",
      [session_header(f) + s for f, s in zip([2, 2, 0, 1, 2 | 8, 2 | 16, 2 | 32, 4 | 2] * 3, imap_sessions)])
write("imap_client_session",
      [session_header(f) + b"* OK [CAPABILITY IMAP4rev1 LITERAL+ IDLE] ready\r\n" + r
       for f, r in zip([0, 1, 2, 3, 4] * 5, imap_responses)])
write("imap_differential", [bytes(rng.getrandbits(8) for _ in range(rng.choice([16, 64, 256, 1024]))) for _ in range(PER_TARGET)])

# POP3
pop3_sessions = capped(sessions(pop3_c, b"CAPA"))
pop3_replies = capped(sessions(pop3_s, b"+OK POP3 server ready"))
for t in ["pop3_decode_command", "pop3_roundtrip_command"]:
    write(t, pop3_sessions)
for t in ["pop3_decode_response", "pop3_roundtrip_response"]:
    write(t, slices(pop3_s))
bodies = capped(between(pop3_s, b"octets\r\n", b"\r\n.\r\n"))
write("pop3_decode_multiline", [chunked_header(rng.choice([0, 1, 3, 20])) + b for b in bodies])
write("pop3_server_session",
      [session_header(f) + s for f, s in zip([2, 2 | 4, 2 | 8, 0, 1, 2 | 16, 2 | 32, 2 | 64] * 3, pop3_sessions)])
write("pop3_client_session",
      [session_header(f) + s for f, s in zip([0, 2, 4, 8, 16, 32, 64, 1] * 3, pop3_replies)])

# Pairs of our own client and server: message contents cut at 0xFF.
write("smtp_pair",
      [session_header(f) + b"\xff".join(data_bodies[i:i + 2])
       for i, f in zip(range(PER_TARGET), [0, 1, 2, 3, 4, 8, 16, 32, 64, 1 | 2, 1 | 16, 4 | 2] * 2)])
write("pop3_pair",
      [session_header(f) + b"\xff".join(bodies[i:i + 3])
       for i, f in zip(range(PER_TARGET), [0, 1, 2, 4, 8, 16, 32, 64, 128, 1 | 2, 16 | 8, 4 | 1] * 2)])
write("imap_pair",
      [session_header(f) + bytes(rng.randrange(256) for _ in range(rng.choice([4, 8, 16])))
       for f in [0, 1, 2, 3, 4, 5, 6, 7] * 2])
