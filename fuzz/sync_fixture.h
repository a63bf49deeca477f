#pragma once
// What fuzz_session and fuzz_seeds share, so that the seeds (real sessions recorded by
// make_seeds.cpp) are messages to the very archive fuzz_session serves: the objects of the
// serving archive and of the recorded peer, the way an input is cut into messages, and a
// temporary folder. Also the sorted keys fuzz_reconcile and its seeds reconcile against.
// Threads: none; everything is built on call.

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <sodium.h>
#include <stdlib.h>

#include "fuzz/fuzz_check.h"
#include "protocol/range_index.h"
#include "protocol/reconcile.h"
#include "store/archive.h"

namespace fuzz {

/// A clipping signed with fixedKey() at FIXED_SIGNED_AT + offset: the same bytes in every run.
inline fieldsync::protocol::VerifiedObject fixedClipping(int number, std::int64_t offset) {
  using namespace fieldsync::protocol;
  Clipping clipping;
  clipping.title = "Clipping " + std::to_string(number);
  clipping.body = "Body of clipping " + std::to_string(number) + ".";
  clipping.published = "2013-01-11";
  auto object = sign(Payload{{}, FIXED_SIGNED_AT + offset, clipping}, fixedKey());
  if (!object) throw std::runtime_error("sign: " + object.error().message());
  return std::move(object).value();
}

/// The archive fuzz_session serves: clippings 0-39, three to a second, so reconciliation
/// splits ranges (more than Tuning::leafItems) and meets equal signedAt.
inline std::vector<fieldsync::protocol::VerifiedObject> serverObjects() {
  std::vector<fieldsync::protocol::VerifiedObject> out;
  for (int i = 0; i < 40; ++i) out.push_back(fixedClipping(i, i / 3));
  return out;
}

/// The archive of the peer whose session the seeds record: clippings 4-49, so each side
/// lacks some of the other's.
inline std::vector<fieldsync::protocol::VerifiedObject> peerObjects() {
  std::vector<fieldsync::protocol::VerifiedObject> out;
  for (int i = 4; i < 50; ++i) out.push_back(fixedClipping(i, i / 3));
  return out;
}

/// A fuzz_session input is a list of messages, each a 2-byte big-endian length and that many
/// bytes; a length past the end takes what is left.
inline std::vector<std::span<const std::uint8_t>> splitMessages(std::span<const std::uint8_t> in) {
  std::vector<std::span<const std::uint8_t>> out;
  while (in.size() >= 2) {
    const std::size_t length = std::min<std::size_t>(in[0] << 8 | in[1], in.size() - 2);
    out.push_back(in.subspan(2, length));
    in = in.subspan(2 + length);
  }
  return out;
}

/// The inverse of splitMessages, for the seeds; messages over 64 KiB are a bug here.
inline std::vector<std::uint8_t> joinMessages(const std::vector<std::vector<std::uint8_t>>& all) {
  std::vector<std::uint8_t> out;
  for (const auto& message : all) {
    if (message.size() > 0xffff) throw std::runtime_error("a seed message over 64 KiB");
    out.push_back(static_cast<std::uint8_t>(message.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(message.size()));
    out.insert(out.end(), message.begin(), message.end());
  }
  return out;
}

/// A fresh folder under the system temp dir, removed with what it holds on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "fieldsync-fuzz-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    m_path = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  const std::filesystem::path& path() const { return m_path; }

 private:
  std::filesystem::path m_path;
};

/// A new archive in dir holding objects.
inline std::unique_ptr<fieldsync::store::Archive> archiveWith(
    const std::filesystem::path& dir,
    const std::vector<fieldsync::protocol::VerifiedObject>& objects) {
  fieldsync::store::Options options;
  options.dir = dir;
  options.create = true;
  options.initialMapBytes = 8u << 20;
  auto archive = fieldsync::store::Archive::open(options);
  archive->write([&](fieldsync::store::WriteTxn& txn) {
    for (const auto& object : objects) (void)txn.put(object);
  });
  return archive;
}

/// The salt fuzz_reconcile processes frames with and its seeds are made with.
inline fieldsync::protocol::Salt fixedSalt() {
  fieldsync::protocol::Salt salt{};
  for (std::size_t i = 0; i < salt.size(); ++i) salt[i] = static_cast<std::uint8_t>(0xa0 + i);
  return salt;
}

/// Sync keys for fuzz_reconcile: `count` keys, ids BLAKE2b of (tag, i), signedAt FIXED_SIGNED_AT
/// + i / 3 (so some share a second), from `first` on. Two sets overlapping in part stand for
/// the two sides of a session.
inline std::vector<fieldsync::protocol::SyncKey> fixedKeys(std::uint32_t first,
                                                           std::uint32_t count) {
  std::vector<fieldsync::protocol::SyncKey> keys;
  for (std::uint32_t i = first; i < first + count; ++i) {
    fieldsync::protocol::SyncKey key;
    key.signedAt = FIXED_SIGNED_AT + i / 3;
    const std::uint8_t input[4] = {static_cast<std::uint8_t>(i >> 24),
                                   static_cast<std::uint8_t>(i >> 16),
                                   static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)};
    crypto_generichash(key.id.bytes.data(), key.id.bytes.size(), input, sizeof input, nullptr, 0);
    keys.push_back(key);
  }
  return keys;
}

}  // namespace fuzz
