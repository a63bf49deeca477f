# fieldsync sync sessions: the messages two nodes exchange over a CurveZMQ link.
# One SyncMessage per ZeroMQ message. docs/protocol.md ("Sync") gives the session rules;
# protocol/sync.h is the C++ interface. Fields are only ever added at the end of a struct.

@0xcb3669c4052e1ae7;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("fieldsync::schema");

struct SyncMessage {
  union {
    hello @0 :Hello;
    reconcile @1 :Reconcile;
    batch @2 :Batch;
    ack @3 :Ack;
    done @4 :Done;
    error @5 :Text;       # why the sender ends the session; the last message it sends
  }
}

# The state of a whole archive: object count and archive fingerprint (32 bytes).
struct ArchiveState {
  count @0 :UInt64;
  fingerprint @1 :Data;
}

# First message each way. The initiator chooses the salt (16 random bytes) for the session's
# fingerprints and short ids; the responder sends none.
#
# rate and budget are what the sender's side of the link allows (its peer settings): rate, bytes
# per second each way, and budget, bytes both ways together for this session; 0: no limit. Each
# side keeps to the smaller non-zero value of its own and the peer's, so a cap set on one node
# holds on the wire both ways, whichever side dialed (docs/protocol.md, "Caps and budgets").
#
# features: bits for what the sender can do beyond its version; a node ignores bits it does not
# know, and a node that predates the field sends none. Bit 0 (1): it reads zstdStream batches.
struct Hello {
  version @0 :UInt32;
  salt @1 :Data;
  state @2 :ArchiveState;
  rate @3 :UInt32;
  budget @4 :UInt64;
  features @5 :UInt32;
}

# One frame of a reconciliation round (protocol/reconcile.h). Rounds alternate, the
# initiator's first is round 1; `last` marks the round's last frame. A round with no ranges
# is one message with `last` set and no frame.
struct Reconcile {
  round @0 :UInt32;
  last @1 :Bool;
  frame @2 :Data;
}

# zstd: content is one zstd frame that declares rawBytes as its content size. zstdStream: content
# continues the one zstd stream of the session in this direction (a frame with a window of at
# most 1 MiB that never ends), flushed at the end of each batch, so it decompresses to exactly
# rawBytes given the batches before it; sent only to a peer whose Hello has features bit 0.
enum Compression {
  none @0;
  zstd @1;
  zstdStream @2;
}

# Objects the receiver lacks. content, once decompressed (rawBytes long), is the objects'
# SignedObject encodings, each preceded by its length as a LEB128 varint.
struct Batch {
  number @0 :UInt32;       # 1, 2, ... in each direction
  objects @1 :UInt32;
  rawBytes @2 :UInt32;
  compression @3 :Compression;
  content @4 :Data;
}

# Batch `batch` is verified and committed; state is the archive after that commit.
struct Ack {
  batch @0 :UInt32;
  state @1 :ArchiveState;
}

# The sender has nothing more to reconcile or send; state is its archive now.
struct Done {
  state @0 :ArchiveState;
}
