// Gossip across intermittent links (issue 5): networks of real daemons in one process, each
// link a TCP proxy that drops connections (tests/support/gossip_network.h). Offices import
// different clippings; every archive must end the same, within a stated bound, holding only
// objects that verify. Seeded: the seed is printed, and FIELDSYNC_SEED repeats a run's
// graph, cut times and daemon jitter (thread timing still varies).
//
// Intervals are short (300 ms) and deadlines generous (tens of seconds, where runs take a
// few): the tests must pass on a busy two-core machine and under sanitizers.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <random>

#include "support/gossip_network.h"

namespace fieldsync::node {
namespace {

using namespace std::chrono_literals;
using fieldsync::testing::Edge;
using fieldsync::testing::GossipNetwork;
using fieldsync::testing::NetworkOptions;

std::uint64_t seedFromEnv(const char* test) {
  const char* text = std::getenv("FIELDSYNC_SEED");
  const std::uint64_t seed = text ? std::strtoull(text, nullptr, 10) : std::random_device{}();
  std::printf("%s seed: %llu (set FIELDSYNC_SEED to repeat)\n", test,
              static_cast<unsigned long long>(seed));
  return seed;
}

double seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

/// Daemons that dial every 300 ms and give up on a silent or stalled link within 2 s, over
/// links with 10 ms of latency each way.
NetworkOptions quickGossip(std::uint64_t seed) {
  NetworkOptions options;
  DaemonOptions& daemon = options.daemon;
  daemon.interval = 300ms;
  daemon.jitter = 0.2;
  daemon.minBackoff = 100ms;
  daemon.maxBackoff = 1s;
  daemon.watchInterval = 50ms;
  daemon.seed = seed;
  daemon.client.connectTimeout = 1s;
  daemon.client.idleTimeout = 2s;
  // A send on a link cut mid-session blocks up to sendTimeout (30 s shipped): bound it, so
  // stopping a daemon stays quick.
  daemon.client.transport.sendTimeout = 2s;
  daemon.client.transport.linger = 100ms;
  daemon.server.idleTimeout = 2s;
  daemon.server.peerListRefresh = 200ms;
  options.link.latency = 10ms;
  return options;
}

/// Stops every daemon; then every node must hold `count` objects, all of which verify.
void expectEveryArchiveHoldsOnlyValidObjects(GossipNetwork& net, std::uint64_t count) {
  const auto stopping = std::chrono::steady_clock::now();
  net.stopAll();
  std::printf("  every daemon stopped in %.2f s\n",
              seconds(std::chrono::steady_clock::now() - stopping));
  for (std::size_t i = 0; i < net.size(); ++i) {
    EXPECT_EQ(net.state(i).count, count) << "node " << i;
    EXPECT_EQ(net.invalidObjects(i), 0u) << "node " << i;
  }
}

/// Prints what the sessions moved; no dial may be refused (every peer is listed both ways,
/// before any server binds).
void checkTally(GossipNetwork& net) {
  const auto t = net.tally().totals();
  std::printf("  session ends: %llu (%llu failed), objects in: %llu, duplicates: %.1f%%\n",
              static_cast<unsigned long long>(t.sessions),
              static_cast<unsigned long long>(t.failed),
              static_cast<unsigned long long>(t.objectsIn), 100 * t.duplicateShare());
  EXPECT_EQ(t.refused, 0u) << "a listed peer was refused";
}

/// Ten offices import 10 clippings each before the daemons start and 10 more each while they
/// run, over links that are cut at random (on average every 1.5 s each way). Bound: every
/// archive holds all 200 within 45 s of the last import (a few seconds is usual).
void convergeOverFlappingLinks(const std::vector<Edge>& edges, std::uint64_t seed) {
  std::printf("  graph: %s\n", fieldsync::testing::describeEdges(edges).c_str());
  GossipNetwork net(10, edges, quickGossip(seed));
  for (std::size_t i = 0; i < net.size(); ++i) net.importClippings(i, 10);
  net.startAll();
  std::uint64_t linkSeed = seed;
  for (auto* link : net.allLinks()) link->setRandomCuts(1500ms, ++linkSeed);
  std::mt19937_64 rng(seed);
  for (std::size_t i = 0; i < net.size(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 100));
    net.importClippings(i, 10);
  }
  const auto took = net.waitForConvergence(45s);
  ASSERT_TRUE(took) << net.describeStates();
  std::printf("  converged %.2f s after the last import\n", seconds(*took));
  std::uint64_t cuts = 0;
  for (auto* link : net.allLinks()) cuts += link->counters().cuts;
  std::printf("  link cuts meanwhile (all links): %llu\n", static_cast<unsigned long long>(cuts));
  checkTally(net);
  expectEveryArchiveHoldsOnlyValidObjects(net, 200);
}

// A retraction spreads like a clipping and clears every node: both sides of each session end
// with the retraction and without the clipping, and once in step nothing is sent again.
TEST(Gossip, ARetractionClearsTenNodesInAboutTheTimeANewClippingTakesToReachThem) {
  const auto seed = seedFromEnv("retraction");
  GossipNetwork net(10, fieldsync::testing::lineGraph(10), quickGossip(seed));
  for (std::size_t i = 0; i < net.size(); ++i) net.importClippings(i, 3);
  net.startAll();
  ASSERT_TRUE(net.waitForConvergence(45s)) << net.describeStates();

  // A new clipping from one end of the line, then its retraction from the same end.
  const auto fresh = net.importClippings(0, 1).front();
  const auto spread = GossipNetwork::waitFor([&] { return net.holding(fresh) == 10; }, 45s);
  ASSERT_TRUE(spread) << net.describeStates();
  net.retract(0, {fresh});
  const auto cleared = GossipNetwork::waitFor([&] { return net.holding(fresh) == 0; }, 45s);
  ASSERT_TRUE(cleared) << "still held by " << net.holding(fresh) << " nodes";
  ASSERT_TRUE(net.waitForConvergence(45s)) << net.describeStates();
  std::printf(
      "  a new clipping reached all 10 nodes in %.2f s; its retraction cleared them in "
      "%.2f s\n",
      seconds(*spread), seconds(*cleared));

  // In step: further sessions move nothing, the clipping included. (Sessions that were under
  // way at convergence report when they end: let them end first.)
  std::this_thread::sleep_for(1s);
  net.tally().reset();
  std::this_thread::sleep_for(1500ms);
  const auto t = net.tally().totals();
  EXPECT_EQ(t.objectsIn, 0u);
  EXPECT_EQ(t.duplicatesIn, 0u) << "the retracted clipping went back and forth";
  checkTally(net);
  expectEveryArchiveHoldsOnlyValidObjects(net, 10 * 3 + 1);  // 30 clippings and 1 retraction
}

TEST(Gossip, TenNodesOnALineConvergeOverFlappingLinks) {
  const auto seed = seedFromEnv("Gossip.TenNodesOnALine");
  // Objects of node 0 reach node 9 only through the eight in between: store and forward.
  convergeOverFlappingLinks(fieldsync::testing::lineGraph(10), seed);
}

TEST(Gossip, TenNodesInARandomSparseGraphConvergeOverFlappingLinks) {
  const auto seed = seedFromEnv("Gossip.TenNodesInARandomSparseGraph");
  convergeOverFlappingLinks(fieldsync::testing::randomConnectedGraph(10, 3, seed), seed);
}

TEST(Gossip, ANodeKilledMidGossipCatchesUpAfterRestart) {
  const auto seed = seedFromEnv("Gossip.ANodeKilledMidGossip");
  // A line of five; node 2, in the middle, is killed while batches stream through it.
  // Small batches over 20 kB/s links make the stream last, so the kill lands inside it.
  NetworkOptions options = quickGossip(seed);
  options.daemon.client.session.batchObjects = 4;
  options.daemon.server.session.batchObjects = 4;
  options.link.bytesPerSecond = 20'000;
  GossipNetwork net(5, fieldsync::testing::lineGraph(5), options);
  net.startAll();
  net.importClippings(0, 60, 1000);

  // Kill node 2 as soon as part of node 0's clippings has reached it.
  const auto partly = net.waitFor([&] { return net.state(2).count > 0; }, 30s, 5ms);
  ASSERT_TRUE(partly) << net.describeStates();
  const auto held = net.state(2).count;
  const auto killing = std::chrono::steady_clock::now();
  net.kill(2);
  std::printf("  node 2 killed holding about %llu of 60 (%.2f s after the import, in %.2f s)\n",
              static_cast<unsigned long long>(held), seconds(*partly),
              seconds(std::chrono::steady_clock::now() - killing));

  // Both sides go on importing while it is down; then it comes back on the same port.
  net.importClippings(0, 10);
  net.importClippings(4, 20);
  std::this_thread::sleep_for(1s);
  net.start(2);
  const auto took = net.waitForConvergence(30s);
  ASSERT_TRUE(took) << net.describeStates();
  std::printf("  converged %.2f s after the restart\n", seconds(*took));
  checkTally(net);
  expectEveryArchiveHoldsOnlyValidObjects(net, 90);
}

TEST(Gossip, BothSidesOfAHealedPartitionConverge) {
  const auto seed = seedFromEnv("Gossip.BothSidesOfAHealedPartition");
  // A ring of eight, split into two lines, 0-1-2-3 and 4-5-6-7, by taking down edges 3-4
  // and 7-0.
  std::vector<Edge> ring = fieldsync::testing::lineGraph(8);
  ring.emplace_back(0, 7);
  GossipNetwork net(8, ring, quickGossip(seed));
  for (std::size_t i = 0; i < net.size(); ++i) net.importClippings(i, 5);
  net.startAll();
  ASSERT_TRUE(net.waitForConvergence(30s)) << net.describeStates();

  const std::set<std::size_t> west{0, 1, 2, 3}, east{4, 5, 6, 7};
  net.emulator().partition("split", net.linksAcross(west));
  for (std::size_t i = 0; i < net.size(); ++i) net.importClippings(i, 10);
  // Each side converges on its own: 40 shared objects and its own 40 new ones.
  const auto sides = GossipNetwork::waitFor(
      [&] { return net.groupHolds(west, 80) && net.groupHolds(east, 80); }, 30s);
  ASSERT_TRUE(sides) << net.describeStates();
  std::printf("  each side in step %.2f s into the partition\n", seconds(*sides));
  EXPECT_FALSE(net.converged());

  net.emulator().heal("split");
  const auto took = net.waitForConvergence(30s);
  ASSERT_TRUE(took) << net.describeStates();
  std::printf("  converged %.2f s after the heal\n", seconds(*took));
  checkTally(net);
  expectEveryArchiveHoldsOnlyValidObjects(net, 120);
}

TEST(Gossip, APeerThatDialsBeforeTheServerRunsIsAdmitted) {
  // `fieldsync serve` binds, then serves: a peer that dials in between must not be refused
  // as a stranger (it would note "is this node's key listed?" and back off).
  GossipNetwork net(2, fieldsync::testing::lineGraph(2), quickGossip(seedFromEnv("Gossip.Early")));
  net.importClippings(1, 3);
  net.start(0);  // dials node 1 at once; node 1 is bound, not yet running
  std::this_thread::sleep_for(300ms);
  net.start(1);
  ASSERT_TRUE(net.waitForConvergence(20s)) << net.describeStates();
  checkTally(net);
}

}  // namespace
}  // namespace fieldsync::node
