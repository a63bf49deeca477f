#include "protocol/trust.h"

#include <algorithm>
#include <cassert>
#include <map>
#include <span>
#include <tuple>
#include <utility>

// How the rules in trust.h are decided (docs/trust.md says the same for people).
//
// Chains. A key holds role R at time t when it is not revoked at t and it is an anchor for R
// (a coordinator anchor covers both roles), or some certificate gives it R (or coordinator),
// has not expired at t (validUntil == 0, or t < validUntil: the expiry second itself is out,
// as the `since` second of a revocation is), and is valid: its signer held the coordinator
// role at the certificate's signedAt, with a chain short enough that the whole chain has at
// most MAX_CHAIN_DEPTH certificates. A certificate need not predate t: certifying a key
// vouches for what it signed before too.
//
// Whether a certificate is valid does not depend on the question asked, only on the records,
// so the constructor settles it once for every certificate, with the length of its shortest
// chain, level by level from the anchors (level k: a certificate whose signer is not revoked
// at its signedAt and has an unexpired coordinator certificate of level k - 1). Cycles and
// overlong chains simply never reach a level. evaluate() then reads only the key's own
// certificates, and a path walks down the levels. Among valid chains the shortest wins, ties
// going to the certificate with the smallest id, so verdicts are deterministic.
//
// Revocations. One is effective when signed by its subject, or by a key that held the
// coordinator role when it signed it. Effectiveness depends on trust and trust on
// revocations, so coordinators can revoke each other in a circle (a thief holding a lost
// coordinator key revokes the real coordinator, back-dated). The constructor settles this
// with the alternating fixpoint of "the revocations that hold, given these revocations":
// the smallest set certainly effective and the largest possibly effective. Revocations in
// between are disputed; they count as effective, so a dispute costs trust and never confers
// it, and it shows until an operator settles it in the anchors (local and final). Without a
// dispute the two sets coincide. Only effective revocations are kept.
//
// Pruning. Anyone can publish certificates and revocations, signed by keys of their own, and
// sync carries them everywhere. So that a flood of them costs nothing, the constructor drops
// certificates whose signer can never hold the coordinator role (not reachable from a
// coordinator anchor through coordinator certificates within the depth limit, whatever the
// times), and likewise revocations unless signed by their subject. No verdict changes,
// except that such a certificate reads as Unknown rather than as its signer's failure:
// a key that was never a coordinator could not certify anyone in the first place.
//
// Status of an untrusted key, most severe first: Revoked (the key itself, or a coordinator
// on the chains that would have held, was revoked at the time in question: the first thing
// a verifier must see, and a revoked coordinator certifying keys is the mark of a stolen
// key) > WrongRole (trusted, but only for the field role when coordinator was asked) >
// Expired (a certificate that would have held had expired) > Unknown (nothing links it to an
// anchor). The verdict's path, role and name describe the role the key does hold at that
// time (coordinator before field); for a key itself revoked, and so holding no role, the
// path and name are those it had but for its revocation, and role is empty.

namespace fieldsync::protocol {
namespace {

bool covers(Role held, Role required) { return held == Role::Coordinator || held == required; }

bool expiredAt(const KeyCert& cert, std::int64_t at) {
  return cert.validUntil != 0 && at >= cert.validUntil;
}

/// Why a certificate or key does not hold; larger is more severe.
enum class Failure : int { Unknown = 0, Expired = 1, Revoked = 2 };

// Sort orders that the lookups below rely on.
bool anchorOrder(const Anchor& a, const Anchor& b) {
  // The strongest role first among anchors of the same key.
  return std::tie(a.key, b.role) < std::tie(b.key, a.role);
}
bool certificateOrder(const CertRecord& a, const CertRecord& b) {
  return std::tie(a.cert.subject, a.id) < std::tie(b.cert.subject, b.id);
}
bool revocationOrder(const RevocationRecord& a, const RevocationRecord& b) {
  return std::tie(a.revocation.subject, a.revocation.since, a.signedAt, a.id) <
         std::tie(b.revocation.subject, b.revocation.since, b.signedAt, b.id);
}

/// Lookups over records sorted in the orders above.
struct Records {
  std::span<const Anchor> anchors;
  std::span<const CertRecord> certificates;
  std::span<const RevocationRecord> revocations;
  const std::vector<bool>* inEffect = nullptr;  // which revocations count; all when null

  const Anchor* strongestAnchor(const PublicKey& key) const {
    auto it = std::ranges::lower_bound(anchors, key, {}, &Anchor::key);
    return it != anchors.end() && it->key == key ? &*it : nullptr;
  }

  /// Indexes [first, last) of the certificates whose subject is key.
  std::pair<std::size_t, std::size_t> certificatesOf(const PublicKey& key) const {
    // lower_bound + upper_bound rather than equal_range: clang 14 cannot compile libstdc++
    // 12's ranges::subrange (LLVM #44178), and the fuzzing build uses clang.
    auto subject = [](const CertRecord& c) { return c.cert.subject; };
    auto first = std::ranges::lower_bound(certificates, key, {}, subject);
    auto last = std::ranges::upper_bound(first, certificates.end(), key, {}, subject);
    return {static_cast<std::size_t>(first - certificates.begin()),
            static_cast<std::size_t>(last - certificates.begin())};
  }

  /// The effective revocation of key with the earliest `since`, if that is at or before at.
  const RevocationRecord* revokedAt(const PublicKey& key, std::int64_t at) const {
    auto subject = [](const RevocationRecord& r) { return r.revocation.subject; };
    auto first = std::ranges::lower_bound(revocations, key, {}, subject);
    auto last = std::ranges::upper_bound(first, revocations.end(), key, {}, subject);
    for (auto it = first; it != last; ++it) {
      auto index = static_cast<std::size_t>(it - revocations.begin());
      if (inEffect == nullptr || (*inEffect)[index])
        return it->revocation.since <= at ? &*it : nullptr;
    }
    return nullptr;
  }
};

/// For each certificate, the number of certificates on its shortest valid chain (itself
/// included), or -1 when it has none within MAX_CHAIN_DEPTH.
std::vector<int> chainLengths(const Records& records) {
  const auto& certs = records.certificates;
  std::vector<int> length(certs.size(), -1);
  std::vector<bool> signerRevoked(certs.size());
  for (std::size_t i = 0; i < certs.size(); ++i) {
    signerRevoked[i] = records.revokedAt(certs[i].signer, certs[i].signedAt) != nullptr;
    const Anchor* anchor = records.strongestAnchor(certs[i].signer);
    if (!signerRevoked[i] && anchor && anchor->role == Role::Coordinator) length[i] = 1;
  }
  for (int level = 2; level <= MAX_CHAIN_DEPTH; ++level) {
    bool reached = false;
    for (std::size_t i = 0; i < certs.size(); ++i) {
      if (length[i] >= 0 || signerRevoked[i]) continue;
      auto [first, last] = records.certificatesOf(certs[i].signer);
      for (std::size_t j = first; j < last; ++j) {
        const CertRecord& p = certs[j];
        if (length[j] == level - 1 && p.cert.role == Role::Coordinator &&
            !expiredAt(p.cert, certs[i].signedAt)) {
          length[i] = level;
          reached = true;
          break;
        }
      }
    }
    if (!reached) break;
  }
  return length;
}

/// Does key hold the coordinator role at `at`, given the certificates' chain lengths?
bool holdsCoordinator(const Records& records, const std::vector<int>& length, const PublicKey& key,
                      std::int64_t at) {
  if (records.revokedAt(key, at)) return false;
  if (const Anchor* a = records.strongestAnchor(key); a && a->role == Role::Coordinator)
    return true;
  auto [first, last] = records.certificatesOf(key);
  for (std::size_t j = first; j < last; ++j) {
    const CertRecord& c = records.certificates[j];
    if (length[j] >= 0 && c.cert.role == Role::Coordinator && !expiredAt(c.cert, at)) return true;
  }
  return false;
}

/// The revocations that take effect (see the comment at the top), in revocationOrder.
std::vector<RevocationRecord> effectiveRevocations(std::span<const Anchor> anchors,
                                                   std::span<const CertRecord> certificates,
                                                   std::vector<RevocationRecord> all) {
  std::vector<bool> self(all.size());
  for (std::size_t i = 0; i < all.size(); ++i) self[i] = all[i].signer == all[i].revocation.subject;

  // The revocations that hold when exactly `assumed` are in effect. Anti-monotone: assuming
  // more revocations can only make fewer signers trusted.
  auto holding = [&](const std::vector<bool>& assumed) {
    Records records{anchors, certificates, all, &assumed};
    std::vector<int> length = chainLengths(records);
    std::vector<bool> result(all.size());
    for (std::size_t i = 0; i < all.size(); ++i)
      result[i] = self[i] || holdsCoordinator(records, length, all[i].signer, all[i].signedAt);
    return result;
  };

  // lower only grows and upper only shrinks; each round adds to lower or ends.
  std::vector<bool> lower = self;
  std::vector<bool> upper = holding(lower);
  for (std::size_t round = 0;; ++round) {
    assert(round <= all.size());
    std::vector<bool> next = holding(upper);
    if (next == lower) break;
    lower = std::move(next);
    upper = holding(lower);
  }

  std::vector<RevocationRecord> kept;
  for (std::size_t i = 0; i < all.size(); ++i)
    if (upper[i]) kept.push_back(std::move(all[i]));
  return kept;
}

/// Why each invalid certificate is invalid: its signer revoked when it signed (Revoked),
/// else the worst reason among the signer's coordinator certificates at that time (an
/// expired one: Expired; an invalid one: its reason), else Unknown. A worklist raises each
/// reason at most twice, so this is linear in the certificate links.
void explainInvalid(const Records& records, const std::vector<int>& length,
                    std::vector<Failure>& failure,
                    std::vector<const RevocationRecord*>& revocation) {
  const auto& certs = records.certificates;
  failure.assign(certs.size(), Failure::Unknown);
  revocation.assign(certs.size(), nullptr);
  std::map<PublicKey, std::vector<std::size_t>> invalidBySigner;
  std::vector<std::size_t> raised;
  for (std::size_t i = 0; i < certs.size(); ++i) {
    if (length[i] >= 0) continue;
    const CertRecord& c = certs[i];
    invalidBySigner[c.signer].push_back(i);
    if (const RevocationRecord* r = records.revokedAt(c.signer, c.signedAt)) {
      failure[i] = Failure::Revoked;
      revocation[i] = r;
    } else {
      auto [first, last] = records.certificatesOf(c.signer);
      for (std::size_t j = first; j < last; ++j)
        if (certs[j].cert.role == Role::Coordinator && expiredAt(certs[j].cert, c.signedAt))
          failure[i] = Failure::Expired;
    }
    if (failure[i] != Failure::Unknown) raised.push_back(i);
  }
  while (!raised.empty()) {
    std::size_t j = raised.back();
    raised.pop_back();
    const CertRecord& p = certs[j];
    if (p.cert.role != Role::Coordinator) continue;  // only coordinators certify
    auto it = invalidBySigner.find(p.cert.subject);
    if (it == invalidBySigner.end()) continue;
    for (std::size_t i : it->second) {
      if (failure[j] <= failure[i] || expiredAt(p.cert, certs[i].signedAt)) continue;
      failure[i] = failure[j];
      revocation[i] = revocation[j];
      raised.push_back(i);
    }
  }
}

/// What a key's own records say about it for one role at one time.
struct Choice {
  int length = -1;                 // certificates on the chosen chain; -1: none holds
  const Anchor* anchor = nullptr;  // length == 0
  std::size_t certificate = 0;     // length > 0: index of the key's certificate
  Failure failure = Failure::Unknown;
  const RevocationRecord* revocation = nullptr;  // failure == Revoked

  bool holds() const { return length >= 0; }
  void worsen(Failure f, const RevocationRecord* r) {
    if (f > failure) {
      failure = f;
      revocation = r;
    }
  }
};

}  // namespace

std::string_view trustStatusName(TrustStatus status) {
  switch (status) {
    case TrustStatus::Trusted:
      return "trusted";
    case TrustStatus::Revoked:
      return "revoked";
    case TrustStatus::WrongRole:
      return "wrong-role";
    case TrustStatus::Expired:
      return "expired";
    case TrustStatus::Unknown:
      return "unknown";
  }
  return "unknown";
}

TrustGraph::TrustGraph(std::vector<Anchor> anchors, std::vector<CertRecord> certificates,
                       std::vector<RevocationRecord> revocations)
    : m_anchors(std::move(anchors)) {
  std::sort(m_anchors.begin(), m_anchors.end(), anchorOrder);

  // Which keys may ever be coordinators, and through how many certificates at least.
  std::map<PublicKey, std::vector<const CertRecord*>> coordinatorCertsBySigner;
  for (const CertRecord& c : certificates)
    if (c.cert.role == Role::Coordinator) coordinatorCertsBySigner[c.signer].push_back(&c);
  std::map<PublicKey, int> depth;
  std::vector<PublicKey> frontier;
  for (const Anchor& a : m_anchors)
    if (a.role == Role::Coordinator && depth.emplace(a.key, 0).second) frontier.push_back(a.key);
  for (int d = 1; d <= MAX_CHAIN_DEPTH && !frontier.empty(); ++d) {
    std::vector<PublicKey> next;
    for (const PublicKey& signer : frontier) {
      auto it = coordinatorCertsBySigner.find(signer);
      if (it == coordinatorCertsBySigner.end()) continue;
      for (const CertRecord* c : it->second)
        if (depth.emplace(c->cert.subject, d).second) next.push_back(c->cert.subject);
    }
    frontier = std::move(next);
  }
  // A certificate counts only if its signer may be a coordinator within MAX_CHAIN_DEPTH - 1
  // certificates; a revocation only if its signer may be one within MAX_CHAIN_DEPTH.
  for (CertRecord& c : certificates) {
    auto it = depth.find(c.signer);
    if (it != depth.end() && it->second < MAX_CHAIN_DEPTH) m_certificates.push_back(std::move(c));
  }
  std::sort(m_certificates.begin(), m_certificates.end(), certificateOrder);

  std::vector<RevocationRecord> candidates;
  for (RevocationRecord& r : revocations)
    if (r.signer == r.revocation.subject || depth.contains(r.signer))
      candidates.push_back(std::move(r));
  std::sort(candidates.begin(), candidates.end(), revocationOrder);
  m_revocations = effectiveRevocations(m_anchors, m_certificates, std::move(candidates));

  Records records{m_anchors, m_certificates, m_revocations};
  std::vector<int> length = chainLengths(records);
  std::vector<Failure> failure;
  std::vector<const RevocationRecord*> revocation;
  explainInvalid(records, length, failure, revocation);
  m_standing.reserve(m_certificates.size());
  for (std::size_t i = 0; i < m_certificates.size(); ++i)
    m_standing.push_back(
        Standing{length[i], static_cast<int>(failure[i]),
                 revocation[i] ? static_cast<int>(revocation[i] - m_revocations.data()) : -1});
}

TrustVerdict TrustGraph::evaluate(const PublicKey& key, Role required,
                                  std::int64_t signedAt) const {
  Records records{m_anchors, m_certificates, m_revocations};

  // The shortest chain for key in role at `at`, read from the key's own records.
  auto choose = [&](const PublicKey& who, Role role, std::int64_t at, bool checkRevocation) {
    Choice choice;
    if (checkRevocation) {
      if (const RevocationRecord* r = records.revokedAt(who, at)) {
        choice.worsen(Failure::Revoked, r);
        return choice;
      }
    }
    if (const Anchor* a = records.strongestAnchor(who); a && covers(a->role, role)) {
      choice.length = 0;
      choice.anchor = a;
      return choice;
    }
    auto [first, last] = records.certificatesOf(who);
    for (std::size_t j = first; j < last; ++j) {
      const KeyCert& cert = m_certificates[j].cert;
      const Standing& standing = m_standing[j];
      if (!covers(cert.role, role)) continue;
      if (expiredAt(cert, at)) {
        choice.worsen(Failure::Expired, nullptr);
      } else if (standing.length < 0) {
        choice.worsen(static_cast<Failure>(standing.failure),
                      standing.revocation < 0
                          ? nullptr
                          : &m_revocations[static_cast<std::size_t>(standing.revocation)]);
      } else if (!choice.holds() || standing.length < choice.length) {
        choice.length = standing.length;
        choice.certificate = j;
      }
    }
    return choice;
  };

  // The steps of a holding choice, anchor first. Each certificate's signer holds a chain one
  // shorter at the certificate's signedAt (that is how its length was found), so this ends.
  TrustVerdict verdict;
  auto describe = [&](Choice choice) {
    std::vector<TrustStep> steps;
    for (int guard = 0; choice.anchor == nullptr && guard <= MAX_CHAIN_DEPTH; ++guard) {
      const CertRecord& c = m_certificates[choice.certificate];
      steps.push_back(TrustStep{c.cert.subject, c.cert.role, c.cert.name, c.id});
      choice = choose(c.signer, Role::Coordinator, c.signedAt, true);
      assert(choice.holds());
    }
    assert(choice.anchor != nullptr);
    if (choice.anchor == nullptr) return;  // unreachable; never show a broken path
    steps.push_back(
        TrustStep{choice.anchor->key, choice.anchor->role, choice.anchor->name, std::nullopt});
    std::reverse(steps.begin(), steps.end());
    verdict.name = steps.back().name;
    verdict.path = std::move(steps);
  };

  Choice asCoordinator = choose(key, Role::Coordinator, signedAt, true);
  if (asCoordinator.holds()) {
    verdict.status = TrustStatus::Trusted;
    verdict.role = Role::Coordinator;
    describe(asCoordinator);
    return verdict;
  }
  // Every certificate that could make the key a coordinator also makes it a field key, so
  // this choice's failure is the more complete one.
  Choice asField = choose(key, Role::Field, signedAt, true);
  if (asField.holds()) {
    verdict.role = Role::Field;
    describe(asField);
    if (required == Role::Field) {
      verdict.status = TrustStatus::Trusted;
    } else if (asCoordinator.failure == Failure::Revoked) {
      verdict.status = TrustStatus::Revoked;
      verdict.revocation = *asCoordinator.revocation;
    } else {
      verdict.status = TrustStatus::WrongRole;
    }
    return verdict;
  }

  switch (asField.failure) {
    case Failure::Unknown:
      verdict.status = TrustStatus::Unknown;
      return verdict;
    case Failure::Expired:
      verdict.status = TrustStatus::Expired;
      return verdict;
    case Failure::Revoked:
      break;
  }
  verdict.status = TrustStatus::Revoked;
  verdict.revocation = *asField.revocation;
  if (asField.revocation->revocation.subject == key) {
    // What the key was but for its revocation, so a verifier can say whose key it was.
    Choice before = choose(key, Role::Coordinator, signedAt, false);
    if (!before.holds()) before = choose(key, Role::Field, signedAt, false);
    if (before.holds()) describe(before);
  }
  return verdict;
}

std::vector<std::int64_t> TrustGraph::changesFor(const PublicKey& key) const {
  // evaluate() reads the time asked about only through the key's own revocations (revokedAt)
  // and its own certificates' expiry (expiredAt); chains above it are settled by the
  // certificates' own signing times.
  std::vector<std::int64_t> changes;
  Records records{m_anchors, m_certificates, m_revocations};
  auto [first, last] = records.certificatesOf(key);
  for (std::size_t j = first; j < last; ++j)
    if (m_certificates[j].cert.validUntil != 0)
      changes.push_back(m_certificates[j].cert.validUntil);
  for (const auto& r : m_revocations)
    if (r.revocation.subject == key) changes.push_back(r.revocation.since);
  std::sort(changes.begin(), changes.end());
  changes.erase(std::unique(changes.begin(), changes.end()), changes.end());
  return changes;
}

}  // namespace fieldsync::protocol
