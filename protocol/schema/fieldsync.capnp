# fieldsync objects. Every object a node stores or syncs is a SignedObject whose payload is
# the canonical Cap'n Proto encoding (single segment, no segment table) of a Payload.
# See docs/protocol.md for ids, signatures and the canonical-form rules.
#
# Rules for writers, so that independent implementations produce the same bytes:
#  - an empty Text or List field is left unset (null), never set to an empty value;
#  - tags are lowercase (ASCII letters lowered only), sorted and unique; release clipping ids
#    are sorted and unique. docs/protocol.md gives every rule the verifier enforces.
# Fields are only ever added at the end of a struct; ordinals are never reused.

@0xfcd2e63e7484cfd9;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("fieldsync::schema");

struct Clipping {
  title @0 :Text;
  source @1 :Text;
  authors @2 :List(Text);
  published @3 :Text;       # ISO 8601 at the precision known: 2013, 2013-01, 2013-01-11
  url @4 :Text;
  tags @5 :List(Text);
  language @6 :Text;
  body @7 :Text;
  collection @8 :Text;
}

enum Role {
  field @0;
  coordinator @1;
}

struct Release {
  name @0 :Text;
  sequence @1 :UInt64;      # 1 for the first release of a name
  previous @2 :Data;        # id of release (name, sequence - 1); unset for sequence 1
  clippings @3 :List(Data); # 32-byte object ids, sorted, unique; unset when parts is set
  notes @4 :Text;
  parts @5 :List(Data);     # ids of its ReleaseParts in index order, for more members than
                            # one object may hold; the members are then theirs, in order
}

# A share of the members of a large release (name, sequence), signed by the release's signer.
struct ReleasePart {
  name @0 :Text;
  sequence @1 :UInt64;
  index @2 :UInt32;         # 1, 2, ... its place in the release's parts
  clippings @3 :List(Data); # 32-byte object ids, sorted, unique, all above the previous part's
}

struct KeyCert {
  subject @0 :Data;         # 32-byte Ed25519 public key being certified
  role @1 :Role;
  name @2 :Text;            # e.g. "Goma office"
  validUntil @3 :Int64;     # unix seconds; 0 = no expiry
}

struct Revocation {
  subject @0 :Data;         # 32-byte Ed25519 public key being revoked
  since @1 :Int64;          # unix seconds: objects it signed from then on are not trusted
  reason @2 :Text;
}

# Takes clippings back: the listed ones, and with subject set every clipping that key signed at
# or after since. Takes effect on a node for a clipping signed by the retraction's signer, or
# when the signer is trusted there as coordinator (docs/trust.md, "Retraction").
struct Retraction {
  clippings @0 :List(Data); # 32-byte object ids, sorted, unique
  subject @1 :Data;         # 32-byte Ed25519 public key; unset: only the listed clippings
  since @2 :Int64;          # unix seconds, with subject; 0 without
  reason @3 :Text;          # required
}

# Corrects how a clipping reads without touching its signed bytes: a new title, tags added or
# removed, or "the same article as" another clipping. Takes effect on a node when its signer
# signed the clipping, or is trusted there for the field role (docs/trust.md, "Annotation").
struct Annotation {
  clipping @0 :Data;        # 32-byte id of the clipping it corrects
  title @1 :Text;           # unset: the title stands; else a clipping title in normal form
  addTags @2 :List(Text);   # normal tags, sorted, unique
  removeTags @3 :List(Text); # normal tags, sorted, unique, none of them in addTags
  duplicateOf @4 :Data;     # 32-byte id of the clipping this one repeats; unset: none
  reason @5 :Text;          # optional, at most 4096 bytes
}

struct Payload {
  signer @0 :Data;          # 32-byte Ed25519 public key
  signedAt @1 :Int64;       # unix seconds
  body :union {
    clipping @2 :Clipping;
    release @3 :Release;
    keyCert @4 :KeyCert;
    revocation @5 :Revocation;
    retraction @6 :Retraction;
    releasePart @7 :ReleasePart;
    annotation @8 :Annotation;
  }
}

struct SignedObject {
  payload @0 :Data;         # canonical bytes of a Payload
  signature @1 :Data;       # 64-byte Ed25519 signature over SIG_TAG || id
}
