#include "protocol/trust.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace fieldsync::protocol {
namespace {

// Dates as unix seconds, a day apart, so the tests read as a story.
constexpr std::int64_t DAY = 86400;
constexpr std::int64_t JAN_1 = 1704067200;  // 2024-01-01T00:00:00Z
constexpr std::int64_t JAN_2 = JAN_1 + DAY;
constexpr std::int64_t JAN_3 = JAN_1 + 2 * DAY;
constexpr std::int64_t JAN_4 = JAN_1 + 3 * DAY;
constexpr std::int64_t JAN_5 = JAN_1 + 4 * DAY;
constexpr std::int64_t JAN_6 = JAN_1 + 5 * DAY;

/// A key certificate signed by `by`, as a node finds it in its archive.
CertRecord certify(const SecretKey& by, const PublicKey& subject, Role role, std::string name,
                   std::int64_t signedAt, std::int64_t validUntil = 0) {
  Payload payload;
  payload.signedAt = signedAt;
  payload.body = KeyCert{subject, role, std::move(name), validUntil};
  auto object = sign(std::move(payload), by);
  EXPECT_TRUE(object.ok());
  const Payload& signedPayload = object->payload();
  return CertRecord{object->id(), signedPayload.signer, signedPayload.signedAt,
                    std::get<KeyCert>(signedPayload.body)};
}

/// A revocation signed by `by`.
RevocationRecord revoke(const SecretKey& by, const PublicKey& subject, std::int64_t since,
                        std::int64_t signedAt, std::string reason = "laptop lost") {
  Payload payload;
  payload.signedAt = signedAt;
  payload.body = Revocation{subject, since, std::move(reason)};
  auto object = sign(std::move(payload), by);
  EXPECT_TRUE(object.ok());
  const Payload& signedPayload = object->payload();
  return RevocationRecord{object->id(), signedPayload.signer, signedPayload.signedAt,
                          std::get<Revocation>(signedPayload.body)};
}

/// The keys of a small network: a coordinator anchor, a second coordinator, two offices.
struct Network {
  SecretKey hq = SecretKey::generate();
  SecretKey regional = SecretKey::generate();
  SecretKey goma = SecretKey::generate();
  SecretKey bamako = SecretKey::generate();

  Anchor hqAnchor() const { return Anchor{hq.publicKey(), Role::Coordinator, "HQ"}; }
};

TEST(Trust, StatusNamesAreStable) {
  EXPECT_EQ(trustStatusName(TrustStatus::Trusted), "trusted");
  EXPECT_EQ(trustStatusName(TrustStatus::Revoked), "revoked");
  EXPECT_EQ(trustStatusName(TrustStatus::WrongRole), "wrong-role");
  EXPECT_EQ(trustStatusName(TrustStatus::Expired), "expired");
  EXPECT_EQ(trustStatusName(TrustStatus::Unknown), "unknown");
}

TEST(Trust, CoordinatorAnchorIsTrustedForBothRoles) {
  Network n;
  TrustGraph graph({n.hqAnchor()}, {}, {});
  for (Role role : {Role::Coordinator, Role::Field}) {
    auto verdict = graph.evaluate(n.hq.publicKey(), role, JAN_1);
    EXPECT_TRUE(verdict.trusted());
    EXPECT_EQ(verdict.role, Role::Coordinator);
    EXPECT_EQ(verdict.name, "HQ");
    ASSERT_EQ(verdict.path.size(), 1u);
    EXPECT_EQ(verdict.path[0].key, n.hq.publicKey());
    EXPECT_FALSE(verdict.path[0].certificate);
  }
}

TEST(Trust, FieldAnchorIsNotTrustedAsCoordinator) {
  Network n;
  TrustGraph graph({Anchor{n.goma.publicKey(), Role::Field, "Goma office"}}, {}, {});
  EXPECT_TRUE(graph.evaluate(n.goma.publicKey(), Role::Field, JAN_1).trusted());
  auto verdict = graph.evaluate(n.goma.publicKey(), Role::Coordinator, JAN_1);
  EXPECT_EQ(verdict.status, TrustStatus::WrongRole);
  EXPECT_EQ(verdict.role, Role::Field);
  EXPECT_EQ(verdict.name, "Goma office");
  EXPECT_EQ(verdict.path.size(), 1u);
}

TEST(Trust, UnknownKeyIsUnknownWithEmptyPath) {
  Network n;
  TrustGraph graph({n.hqAnchor()}, {}, {});
  auto verdict = graph.evaluate(n.goma.publicKey(), Role::Field, JAN_1);
  EXPECT_EQ(verdict.status, TrustStatus::Unknown);
  EXPECT_TRUE(verdict.path.empty());
  EXPECT_FALSE(verdict.role);
}

TEST(Trust, CertifiedKeyIsTrustedThroughItsCoordinatorWithTwoStepPath) {
  Network n;
  auto cert = certify(n.hq, n.goma.publicKey(), Role::Field, "Goma office", JAN_1);
  TrustGraph graph({n.hqAnchor()}, {cert}, {});
  auto verdict = graph.evaluate(n.goma.publicKey(), Role::Field, JAN_2);
  EXPECT_EQ(verdict.status, TrustStatus::Trusted);
  EXPECT_EQ(verdict.role, Role::Field);
  EXPECT_EQ(verdict.name, "Goma office");
  ASSERT_EQ(verdict.path.size(), 2u);
  EXPECT_EQ(verdict.path[0].key, n.hq.publicKey());
  EXPECT_EQ(verdict.path[0].name, "HQ");
  EXPECT_FALSE(verdict.path[0].certificate);
  EXPECT_EQ(verdict.path[1].key, n.goma.publicKey());
  EXPECT_EQ(verdict.path[1].role, Role::Field);
  EXPECT_EQ(verdict.path[1].certificate, cert.id);
  // A field certificate does not make a coordinator.
  EXPECT_EQ(graph.evaluate(n.goma.publicKey(), Role::Coordinator, JAN_2).status,
            TrustStatus::WrongRole);
}

TEST(Trust, CertificateAlsoCoversWhatTheKeySignedBeforeIt) {
  Network n;
  auto cert = certify(n.hq, n.goma.publicKey(), Role::Field, "Goma office", JAN_3);
  TrustGraph graph({n.hqAnchor()}, {cert}, {});
  EXPECT_TRUE(graph.evaluate(n.goma.publicKey(), Role::Field, JAN_1).trusted());
}

TEST(Trust, ChainOfTwoCoordinatorCertificatesIsFollowed) {
  Network n;
  auto regional = certify(n.hq, n.regional.publicKey(), Role::Coordinator, "Sahel desk", JAN_1);
  auto office = certify(n.regional, n.bamako.publicKey(), Role::Field, "Bamako office", JAN_2);
  TrustGraph graph({n.hqAnchor()}, {office, regional}, {});
  auto verdict = graph.evaluate(n.bamako.publicKey(), Role::Field, JAN_3);
  ASSERT_TRUE(verdict.trusted());
  ASSERT_EQ(verdict.path.size(), 3u);
  EXPECT_EQ(verdict.path[0].key, n.hq.publicKey());
  EXPECT_EQ(verdict.path[1].key, n.regional.publicKey());
  EXPECT_EQ(verdict.path[1].certificate, regional.id);
  EXPECT_EQ(verdict.path[1].role, Role::Coordinator);
  EXPECT_EQ(verdict.path[2].certificate, office.id);
  EXPECT_EQ(verdict.name, "Bamako office");
  auto coordinator = graph.evaluate(n.regional.publicKey(), Role::Coordinator, JAN_3);
  EXPECT_TRUE(coordinator.trusted());
  EXPECT_EQ(coordinator.name, "Sahel desk");
}

TEST(Trust, CertificateSignedByFieldKeyConfersNoTrust) {
  Network n;
  auto goma = certify(n.hq, n.goma.publicKey(), Role::Field, "Goma office", JAN_1);
  // A field office tries to vouch for another key, even as a coordinator.
  auto byField = certify(n.goma, n.bamako.publicKey(), Role::Coordinator, "Bamako", JAN_2);
  TrustGraph graph(
      {n.hqAnchor(), Anchor{n.regional.publicKey(), Role::Field, "field anchor"}},
      {goma, byField, certify(n.regional, n.bamako.publicKey(), Role::Field, "Bamako", JAN_2)}, {});
  auto verdict = graph.evaluate(n.bamako.publicKey(), Role::Field, JAN_3);
  EXPECT_EQ(verdict.status, TrustStatus::Unknown);
  EXPECT_TRUE(verdict.path.empty());
}

TEST(Trust, RevokedKeyIsTrustedBeforeSinceAndNotFromSinceOn) {
  Network n;
  auto cert = certify(n.hq, n.goma.publicKey(), Role::Field, "Goma office", JAN_1);
  auto lost = revoke(n.hq, n.goma.publicKey(), /*since=*/JAN_3, /*signedAt=*/JAN_5);
  TrustGraph graph({n.hqAnchor()}, {cert}, {lost});

  EXPECT_TRUE(graph.evaluate(n.goma.publicKey(), Role::Field, JAN_3 - 1).trusted());
  for (std::int64_t at : {JAN_3, JAN_4, JAN_6}) {
    auto verdict = graph.evaluate(n.goma.publicKey(), Role::Field, at);
    EXPECT_EQ(verdict.status, TrustStatus::Revoked) << at;
    ASSERT_TRUE(verdict.revocation);
    EXPECT_EQ(verdict.revocation->id, lost.id);
    // Whose key it was stays visible.
    EXPECT_EQ(verdict.name, "Goma office");
    EXPECT_EQ(verdict.path.size(), 2u);
    EXPECT_FALSE(verdict.role);
  }
}

TEST(Trust, RevocationByUnknownKeyIsIgnored) {
  Network n;
  auto cert = certify(n.hq, n.goma.publicKey(), Role::Field, "Goma office", JAN_1);
  SecretKey stranger = SecretKey::generate();
  TrustGraph graph({n.hqAnchor()}, {cert}, {revoke(stranger, n.goma.publicKey(), JAN_1, JAN_2)});
  EXPECT_TRUE(graph.evaluate(n.goma.publicKey(), Role::Field, JAN_3).trusted());
}

TEST(Trust, RevocationByFieldKeyIsIgnored) {
  Network n;
  auto goma = certify(n.hq, n.goma.publicKey(), Role::Field, "Goma office", JAN_1);
  auto bamako = certify(n.hq, n.bamako.publicKey(), Role::Field, "Bamako office", JAN_1);
  TrustGraph graph({n.hqAnchor()}, {goma, bamako},
                   {revoke(n.goma, n.bamako.publicKey(), JAN_1, JAN_2)});
  EXPECT_TRUE(graph.evaluate(n.bamako.publicKey(), Role::Field, JAN_3).trusted());
}

TEST(Trust, SelfRevocationTakesEffectEvenForAnAnchor) {
  Network n;
  auto cert = certify(n.hq, n.goma.publicKey(), Role::Field, "Goma office", JAN_1);
  TrustGraph graph({n.hqAnchor()}, {cert},
                   {revoke(n.goma, n.goma.publicKey(), JAN_2, JAN_2),
                    revoke(n.hq, n.hq.publicKey(), JAN_4, JAN_4)});
  EXPECT_TRUE(graph.evaluate(n.goma.publicKey(), Role::Field, JAN_1).trusted());
  EXPECT_EQ(graph.evaluate(n.goma.publicKey(), Role::Field, JAN_2).status, TrustStatus::Revoked);
  EXPECT_TRUE(graph.evaluate(n.hq.publicKey(), Role::Coordinator, JAN_3).trusted());
  auto verdict = graph.evaluate(n.hq.publicKey(), Role::Coordinator, JAN_4);
  EXPECT_EQ(verdict.status, TrustStatus::Revoked);
  EXPECT_EQ(verdict.name, "HQ");
}

TEST(Trust, RevokedCoordinatorsEarlierCertificatesStayValidAndLaterOnesDoNot) {
  Network n;
  auto regional = certify(n.hq, n.regional.publicKey(), Role::Coordinator, "Sahel desk", JAN_1);
  auto before = certify(n.regional, n.goma.publicKey(), Role::Field, "Goma office", JAN_2);
  // The regional laptop is lost on JAN_3; whoever has it certifies a key of their own.
  auto after = certify(n.regional, n.bamako.publicKey(), Role::Field, "Bamako office", JAN_4);
  auto lost = revoke(n.hq, n.regional.publicKey(), JAN_3, JAN_5);
  TrustGraph graph({n.hqAnchor()}, {regional, before, after}, {lost});

  EXPECT_TRUE(graph.evaluate(n.goma.publicKey(), Role::Field, JAN_6).trusted());
  auto verdict = graph.evaluate(n.bamako.publicKey(), Role::Field, JAN_6);
  EXPECT_FALSE(verdict.trusted());
  EXPECT_EQ(verdict.status, TrustStatus::Revoked);
  ASSERT_TRUE(verdict.revocation);
  EXPECT_EQ(verdict.revocation->id, lost.id);
  EXPECT_TRUE(verdict.path.empty());
}

TEST(Trust, RevocationsSignedByARevokedCoordinatorAfterSinceAreIgnored) {
  Network n;
  auto regional = certify(n.hq, n.regional.publicKey(), Role::Coordinator, "Sahel desk", JAN_1);
  auto goma = certify(n.hq, n.goma.publicKey(), Role::Field, "Goma office", JAN_1);
  auto bamako = certify(n.hq, n.bamako.publicKey(), Role::Field, "Bamako office", JAN_1);
  // Before losing the laptop the regional desk revoked Bamako; after, the thief revokes Goma.
  auto honest = revoke(n.regional, n.bamako.publicKey(), JAN_2, JAN_2);
  auto thief = revoke(n.regional, n.goma.publicKey(), JAN_1, JAN_4);
  auto lost = revoke(n.hq, n.regional.publicKey(), JAN_3, JAN_5);
  TrustGraph graph({n.hqAnchor()}, {regional, goma, bamako}, {honest, thief, lost});
  EXPECT_TRUE(graph.evaluate(n.goma.publicKey(), Role::Field, JAN_6).trusted());
  EXPECT_EQ(graph.evaluate(n.bamako.publicKey(), Role::Field, JAN_6).status, TrustStatus::Revoked);
}

TEST(Trust, EarliestEffectiveRevocationWins) {
  Network n;
  auto regional = certify(n.hq, n.regional.publicKey(), Role::Coordinator, "Sahel desk", JAN_1);
  auto cert = certify(n.hq, n.goma.publicKey(), Role::Field, "Goma office", JAN_1);
  auto late = revoke(n.hq, n.goma.publicKey(), JAN_4, JAN_4);
  auto early = revoke(n.regional, n.goma.publicKey(), JAN_2, JAN_5);
  auto ignored = revoke(SecretKey::generate(), n.goma.publicKey(), JAN_1, JAN_5);
  TrustGraph graph({n.hqAnchor()}, {regional, cert}, {late, ignored, early});
  EXPECT_TRUE(graph.evaluate(n.goma.publicKey(), Role::Field, JAN_2 - 1).trusted());
  auto verdict = graph.evaluate(n.goma.publicKey(), Role::Field, JAN_3);
  EXPECT_EQ(verdict.status, TrustStatus::Revoked);
  ASSERT_TRUE(verdict.revocation);
  EXPECT_EQ(verdict.revocation->id, early.id);
}

TEST(Trust, ExpiredCertificateNoLongerConfersTrust) {
  Network n;
  auto cert = certify(n.hq, n.goma.publicKey(), Role::Field, "Goma office", JAN_1, JAN_4);
  TrustGraph graph({n.hqAnchor()}, {cert}, {});
  EXPECT_TRUE(graph.evaluate(n.goma.publicKey(), Role::Field, JAN_4 - 1).trusted());
  auto verdict = graph.evaluate(n.goma.publicKey(), Role::Field, JAN_4);
  EXPECT_EQ(verdict.status, TrustStatus::Expired);
  EXPECT_TRUE(verdict.path.empty());
}

TEST(Trust, RenewedCertificateKeepsTrustAfterTheOldOneExpires) {
  Network n;
  auto old = certify(n.hq, n.goma.publicKey(), Role::Field, "Goma office", JAN_1, JAN_3);
  auto renewed = certify(n.hq, n.goma.publicKey(), Role::Field, "Goma office", JAN_2);
  TrustGraph graph({n.hqAnchor()}, {old, renewed}, {});
  auto verdict = graph.evaluate(n.goma.publicKey(), Role::Field, JAN_5);
  ASSERT_TRUE(verdict.trusted());
  EXPECT_EQ(verdict.path.back().certificate, renewed.id);
}

TEST(Trust, AnyValidPathIsEnoughAndTheShortestIsShown) {
  Network n;
  auto regional = certify(n.hq, n.regional.publicKey(), Role::Coordinator, "Sahel desk", JAN_1);
  auto viaRegional = certify(n.regional, n.goma.publicKey(), Role::Field, "Goma (desk)", JAN_1);
  auto direct = certify(n.hq, n.goma.publicKey(), Role::Field, "Goma office", JAN_1);
  auto lostRegional = revoke(n.hq, n.regional.publicKey(), JAN_1, JAN_2);
  {
    TrustGraph graph({n.hqAnchor()}, {regional, viaRegional, direct}, {});
    auto verdict = graph.evaluate(n.goma.publicKey(), Role::Field, JAN_2);
    ASSERT_TRUE(verdict.trusted());
    EXPECT_EQ(verdict.path.size(), 2u);
    EXPECT_EQ(verdict.name, "Goma office");
  }
  {
    // One path revoked, the other still holds.
    TrustGraph graph({n.hqAnchor()}, {regional, viaRegional, direct}, {lostRegional});
    EXPECT_TRUE(graph.evaluate(n.goma.publicKey(), Role::Field, JAN_2).trusted());
  }
}

TEST(Trust, CertificateCycleTerminatesWithoutConferringTrust) {
  Network n;
  auto aToB = certify(n.regional, n.goma.publicKey(), Role::Coordinator, "B", JAN_1);
  auto bToA = certify(n.goma, n.regional.publicKey(), Role::Coordinator, "A", JAN_1);
  auto selfCert = certify(n.bamako, n.bamako.publicKey(), Role::Coordinator, "me", JAN_1);
  TrustGraph graph({n.hqAnchor()}, {aToB, bToA, selfCert}, {});
  EXPECT_EQ(graph.evaluate(n.goma.publicKey(), Role::Field, JAN_2).status, TrustStatus::Unknown);
  EXPECT_EQ(graph.evaluate(n.regional.publicKey(), Role::Field, JAN_2).status,
            TrustStatus::Unknown);
  EXPECT_EQ(graph.evaluate(n.bamako.publicKey(), Role::Field, JAN_2).status, TrustStatus::Unknown);

  // Anchor one end of the cycle and both are trusted, the other through one certificate.
  TrustGraph anchored({Anchor{n.regional.publicKey(), Role::Coordinator, "A"}}, {aToB, bToA}, {});
  auto verdict = anchored.evaluate(n.goma.publicKey(), Role::Coordinator, JAN_2);
  ASSERT_TRUE(verdict.trusted());
  EXPECT_EQ(verdict.path.size(), 2u);
}

TEST(Trust, ChainLongerThanMaxDepthIsNotFollowed) {
  // hq -> k1 -> k2 -> ... each a coordinator certificate.
  std::vector<SecretKey> keys;
  keys.push_back(SecretKey::generate());
  std::vector<CertRecord> certs;
  for (int i = 1; i <= MAX_CHAIN_DEPTH + 1; ++i) {
    keys.push_back(SecretKey::generate());
    certs.push_back(certify(keys[static_cast<std::size_t>(i - 1)],
                            keys[static_cast<std::size_t>(i)].publicKey(), Role::Coordinator,
                            "level " + std::to_string(i), JAN_1));
  }
  TrustGraph graph({Anchor{keys[0].publicKey(), Role::Coordinator, "root"}}, certs, {});
  auto atLimit = graph.evaluate(keys[MAX_CHAIN_DEPTH].publicKey(), Role::Field, JAN_2);
  ASSERT_TRUE(atLimit.trusted());
  EXPECT_EQ(atLimit.path.size(), static_cast<std::size_t>(MAX_CHAIN_DEPTH + 1));
  EXPECT_EQ(graph.evaluate(keys[MAX_CHAIN_DEPTH + 1].publicKey(), Role::Field, JAN_2).status,
            TrustStatus::Unknown);
}

TEST(Trust, CoordinatorsRevokingEachOtherLoseTrustBoth) {
  // Each claims the other's key was lost before the other's revocation was signed: the
  // dispute cannot be settled from the objects, so neither side gains by it.
  Network n;
  auto regional = certify(n.hq, n.regional.publicKey(), Role::Coordinator, "Sahel desk", JAN_1);
  auto other = certify(n.hq, n.goma.publicKey(), Role::Coordinator, "Lakes desk", JAN_1);
  auto one = revoke(n.regional, n.goma.publicKey(), JAN_2, JAN_4);
  auto two = revoke(n.goma, n.regional.publicKey(), JAN_2, JAN_4);
  TrustGraph graph({n.hqAnchor()}, {regional, other}, {one, two});
  EXPECT_EQ(graph.evaluate(n.regional.publicKey(), Role::Coordinator, JAN_5).status,
            TrustStatus::Revoked);
  EXPECT_EQ(graph.evaluate(n.goma.publicKey(), Role::Coordinator, JAN_5).status,
            TrustStatus::Revoked);
  EXPECT_TRUE(graph.evaluate(n.goma.publicKey(), Role::Coordinator, JAN_2 - 1).trusted());
  EXPECT_TRUE(graph.evaluate(n.hq.publicKey(), Role::Coordinator, JAN_5).trusted());
}

TEST(Trust, RevocationRaceIsWonByTheKeyStillTrustedWhenItSigned) {
  // The real coordinator revokes the stolen key since JAN_2, signing on JAN_3; the thief
  // answers on JAN_4, revoking the real coordinator since JAN_4. When the thief signed, the
  // stolen key was already revoked; when the real one signed, it was not.
  Network n;
  auto real = certify(n.hq, n.regional.publicKey(), Role::Coordinator, "Sahel desk", JAN_1);
  auto stolen = certify(n.hq, n.goma.publicKey(), Role::Coordinator, "Lakes desk", JAN_1);
  auto honest = revoke(n.regional, n.goma.publicKey(), JAN_2, JAN_3);
  auto thief = revoke(n.goma, n.regional.publicKey(), JAN_4, JAN_4);
  TrustGraph graph({n.hqAnchor()}, {real, stolen}, {thief, honest});
  EXPECT_TRUE(graph.evaluate(n.regional.publicKey(), Role::Coordinator, JAN_5).trusted());
  EXPECT_EQ(graph.evaluate(n.goma.publicKey(), Role::Coordinator, JAN_5).status,
            TrustStatus::Revoked);
}

TEST(Trust, FieldKeyWithCoordinatorCertificateFromRevokedKeyReadsRevoked) {
  Network n;
  auto regional = certify(n.hq, n.regional.publicKey(), Role::Coordinator, "Sahel desk", JAN_1);
  auto field = certify(n.hq, n.goma.publicKey(), Role::Field, "Goma office", JAN_1);
  auto promoted = certify(n.regional, n.goma.publicKey(), Role::Coordinator, "Goma", JAN_4);
  auto lost = revoke(n.hq, n.regional.publicKey(), JAN_3, JAN_3);
  TrustGraph graph({n.hqAnchor()}, {regional, field, promoted}, {lost});
  auto verdict = graph.evaluate(n.goma.publicKey(), Role::Coordinator, JAN_5);
  EXPECT_EQ(verdict.status, TrustStatus::Revoked);
  EXPECT_EQ(verdict.revocation->id, lost.id);
  EXPECT_EQ(verdict.role, Role::Field);  // what it does hold
  EXPECT_TRUE(graph.evaluate(n.goma.publicKey(), Role::Field, JAN_5).trusted());
}

TEST(Trust, ThousandsOfCertificatesAndAFloodOfStrangersStayFast) {
  // Records built directly: TrustGraph trusts its caller for ids and signatures.
  auto keyOf = [](std::uint32_t n, std::uint8_t kind) {
    PublicKey key;
    key.bytes[0] = kind;
    for (int i = 0; i < 4; ++i)
      key.bytes[static_cast<std::size_t>(1 + i)] = static_cast<std::uint8_t>(n >> (8 * i));
    return key;
  };
  std::uint32_t nextId = 0;
  auto record = [&](const PublicKey& signer, const PublicKey& subject, Role role, std::int64_t at) {
    ObjectId id;
    ++nextId;
    for (int i = 0; i < 4; ++i)
      id.bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(nextId >> (8 * i));
    return CertRecord{id, signer, at, KeyCert{subject, role, "k", 0}};
  };
  PublicKey root = keyOf(0, 1);
  std::vector<CertRecord> certs;
  constexpr std::uint32_t DESKS = 40, OFFICES = 3000, STRANGERS = 120;
  for (std::uint32_t d = 0; d < DESKS; ++d)
    certs.push_back(record(root, keyOf(d, 2), Role::Coordinator, JAN_1 + d));
  for (std::uint32_t o = 0; o < OFFICES; ++o) {
    certs.push_back(record(keyOf(o % DESKS, 2), keyOf(o, 3), Role::Field, JAN_2 + o));
    certs.push_back(record(keyOf((o + 1) % DESKS, 2), keyOf(o, 3), Role::Field, JAN_3 + o));
  }
  // Strangers certify each other and everybody, at distinct times.
  for (std::uint32_t a = 0; a < STRANGERS; ++a)
    for (std::uint32_t b = 0; b < STRANGERS; ++b)
      certs.push_back(record(keyOf(a, 4), keyOf(b, 4), Role::Coordinator, JAN_1 + a * 1000 + b));
  for (std::uint32_t o = 0; o < OFFICES; ++o)
    certs.push_back(record(keyOf(o % STRANGERS, 4), keyOf(o, 3), Role::Field, JAN_4 + o));

  auto start = std::chrono::steady_clock::now();
  TrustGraph graph({Anchor{root, Role::Coordinator, "root"}}, certs, {});
  std::uint32_t trusted = 0;
  for (std::uint32_t o = 0; o < OFFICES; ++o)
    trusted += graph.evaluate(keyOf(o, 3), Role::Field, JAN_6).trusted() ? 1 : 0;
  EXPECT_EQ(trusted, OFFICES);
  EXPECT_EQ(graph.evaluate(keyOf(7, 4), Role::Field, JAN_6).status, TrustStatus::Unknown);
  auto elapsed = std::chrono::steady_clock::now() - start;
  // Generous: a regression to exploring the strangers' graph takes far longer.
  EXPECT_LT(std::chrono::duration_cast<std::chrono::seconds>(elapsed).count(), 5);
}

}  // namespace
}  // namespace fieldsync::protocol
