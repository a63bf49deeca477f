// The reading room (`fieldsync web`): a real WebServer on a loopback port over a real archive
// in a temp folder, asked by a real HTTP client (cpp-httplib's); and the page functions'
// escaping tested directly.
#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

#include "node/web_model.h"
#include "node/web_pages.h"
#include "node/web_server.h"
#include "store/annotation.h"
#include "store/peers.h"
#include "store/provenance.h"
#include "tests/store/store_fixture.h"

namespace fieldsync::node {
namespace {

using store::testing::clipping;
using store::testing::keyNumber;
using store::testing::signBody;

constexpr const char* SCRIPT_TITLE = "<script>alert('x')</script> Evil";
constexpr const char* IMG_TITLE = "<img src=x onerror=alert(1)> Bad";

/// An archive with HQ as coordinator anchor, clippings HQ signed, two hostile ones by a key
/// nobody trusts, and a release weekly@1 of HQ's clippings; a WebServer on a free loopback
/// port serving it on its own thread.
class Web : public ::testing::Test {
 protected:
  void SetUp() override {
    m_archive.archive->write([&](store::WriteTxn& txn) {
      txn.setAnchor({m_hq.publicKey(), protocol::Role::Coordinator, "HQ"});
    });
    auto mali = clipping("Mali: displaced families need urgent shelter",
                         "Aid agencies say thousands are displaced.\n\nThe need is urgent.",
                         "2013-01-11", {"region:mali"}, "IRIN");
    auto kenya = clipping("Kenya: floods in the north", "Rivers rose after rain.", "2013-01-09",
                          {"region:kenya"}, "Daily Nation");
    auto drc = clipping("DRC: talks resume in Kampala", "Negotiators met again.", "2013-01-05",
                        {"region:drc"}, "Reuters");
    m_mali = m_archive.putAll({signBody(m_hq, mali, 1000)})[0];
    m_kenya = m_archive.putAll({signBody(m_hq, kenya, 1001)})[0];
    m_drc = m_archive.putAll({signBody(m_hq, drc, 1002)})[0];
    m_script = m_archive.putAll(
        {signBody(m_stranger, clipping(SCRIPT_TITLE, "x", "2012-12-01"), 1003)})[0];
    m_img =
        m_archive.putAll({signBody(m_stranger, clipping(IMG_TITLE, "y", "2012-11-01"), 1004)})[0];
    auto made = store::publishRelease(*m_archive.archive, m_hq, "weekly", {}, "first week", 2000);
    ASSERT_TRUE(made.ok()) << made.error();
    start({});
  }
  void TearDown() override { stopServer(); }

  void start(WebOptions options) {
    stopServer();
    options.listen = "127.0.0.1:0";
    options.nodeName = "Goma office";
    m_server = std::make_unique<WebServer>(*m_archive.archive, options);
    m_thread = std::thread([this] { m_server->run(); });
    m_client = std::make_unique<httplib::Client>("127.0.0.1", m_server->port());
    m_client->set_connection_timeout(5, 0);
  }
  void stopServer() {
    if (!m_server) return;
    m_server->stop();
    m_thread.join();
    m_server.reset();
  }
  httplib::Result get(const std::string& path) { return m_client->Get(path.c_str()); }
  std::string body(const std::string& path, int status = 200) {
    auto res = get(path);
    if (!res) return "(no response)";
    EXPECT_EQ(res->status, status) << path;
    return res->body;
  }
  static bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  }

  protocol::SecretKey m_hq = keyNumber(1), m_stranger = keyNumber(9);
  store::testing::TempArchive m_archive;
  protocol::ObjectId m_mali, m_kenya, m_drc, m_script, m_img;
  std::unique_ptr<WebServer> m_server;
  std::thread m_thread;
  std::unique_ptr<httplib::Client> m_client;
};

TEST_F(Web, FrontPageListsClippingsNewestFirstWithTrustMarks) {
  const auto html = body("/");
  const auto mali = html.find("Mali: displaced"), kenya = html.find("Kenya: floods"),
             drc = html.find("DRC: talks");
  ASSERT_NE(mali, std::string::npos);
  ASSERT_NE(kenya, std::string::npos);
  ASSERT_NE(drc, std::string::npos);
  EXPECT_LT(mali, kenya);
  EXPECT_LT(kenya, drc);
  EXPECT_TRUE(has(html, "✓ trusted"));
  EXPECT_TRUE(has(html, "unknown signer")) << "the stranger's clippings are marked";
  EXPECT_TRUE(has(html, "IRIN"));
  EXPECT_TRUE(has(html, "region:mali"));
}

TEST_F(Web, HostileTitlesShowAsEscapedTextOnEveryPage) {
  for (const std::string& path : {std::string("/"), "/c/" + m_script.hex(), "/c/" + m_img.hex(),
                                  std::string("/print"), std::string("/?q=evil")}) {
    const auto html = body(path);
    EXPECT_FALSE(has(html, "<script")) << path;
    EXPECT_FALSE(has(html, "<img")) << path;
    EXPECT_FALSE(has(html, "onerror=alert(1)>")) << path;
  }
  EXPECT_TRUE(has(body("/c/" + m_script.hex()), "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
  EXPECT_TRUE(has(body("/c/" + m_img.hex()), "&lt;img src=x onerror=alert(1)&gt;"));
}

TEST_F(Web, MethodsOtherThanGetAndHeadAreRefusedAndChangeNothing) {
  const auto before = m_archive.count();
  auto post = m_client->Post("/", "q=x", "application/x-www-form-urlencoded");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(post->get_header_value("Allow"), "GET, HEAD");
  auto put = m_client->Put(("/c/" + m_mali.hex()).c_str(), "x", "text/plain");
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 405);
  auto del = m_client->Delete(("/c/" + m_mali.hex()).c_str());
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 405);
  auto head = m_client->Head("/");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(m_archive.count(), before);
}

TEST_F(Web, EveryResponseCarriesAStrictContentSecurityPolicy) {
  for (const std::string& path :
       {std::string("/"), "/c/" + m_mali.hex(), std::string("/releases"), std::string("/status"),
        std::string("/style.css"), std::string("/nowhere"), std::string("/?n=0")}) {
    auto res = get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->get_header_value("Content-Security-Policy"), WEB_CSP) << path;
    EXPECT_EQ(res->get_header_value("X-Content-Type-Options"), "nosniff") << path;
  }
  auto post = m_client->Post("/", "", "text/plain");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->get_header_value("Content-Security-Policy"), WEB_CSP);
  EXPECT_TRUE(has(WEB_CSP, "default-src 'none'"));
  EXPECT_FALSE(has(body("/"), "<script")) << "the pages need no script";
}

TEST_F(Web, SearchShowsOnlyClippingsHoldingEveryWord) {
  const auto html = body("/?q=displaced+urgent");
  EXPECT_TRUE(has(html, "Mali: displaced"));
  EXPECT_FALSE(has(html, "Kenya: floods"));
  EXPECT_FALSE(has(html, "DRC: talks"));
  EXPECT_TRUE(has(body("/?q=nothingmatchesthis"), "No clippings match"));
}

TEST_F(Web, FiltersByTagSourceAndDateRange) {
  auto only = [&](const std::string& query, const std::string& shown) {
    const auto html = body("/?" + query);
    for (const std::string title : {"Mali: displaced", "Kenya: floods", "DRC: talks"})
      EXPECT_EQ(has(html, title), title == shown) << query << " " << title;
  };
  only("tag=region:kenya", "Kenya: floods");
  only("tag=Region:DRC", "DRC: talks");
  only("source=IRIN", "Mali: displaced");
  only("from=2013-01-08&until=2013-01-10", "Kenya: floods");
  only("q=talks&until=2013-01-06", "DRC: talks");
  only("q=talks&from=2013-01-06", "");
}

TEST_F(Web, PagingSplitsTheListAndLinksTheNextPage) {
  const auto first = body("/?n=2");
  EXPECT_TRUE(has(first, "Mali: displaced"));
  EXPECT_TRUE(has(first, "Kenya: floods"));
  EXPECT_FALSE(has(first, "DRC: talks"));
  EXPECT_TRUE(has(first, "n=2&amp;page=2"));
  const auto second = body("/?n=2&page=2");
  EXPECT_TRUE(has(second, "DRC: talks"));
  EXPECT_FALSE(has(second, "Mali: displaced"));
  const auto last = body("/?n=2&page=3");
  EXPECT_FALSE(has(last, "page=4")) << "no link past the last page";
}

TEST_F(Web, QueriesAndPagesBeyondTheBoundsAreRefused) {
  body("/?q=" + std::string(web::MAX_QUERY_BYTES + 1, 'a'), 400);
  std::string words;
  for (std::size_t i = 0; i <= web::MAX_TERMS; ++i) words += "word" + std::to_string(i) + "+";
  EXPECT_TRUE(has(body("/?q=" + words, 400), "at most"));
  body("/?n=" + std::to_string(web::MAX_PER_PAGE + 1), 400);
  body("/?n=0", 400);
  body("/?page=abc", 400);
  body("/?page=" + std::to_string(web::MAX_PAGE + 1), 400);
  body("/?from=yesterday", 400);
  std::string many = "/?";
  for (std::size_t i = 0; i <= web::MAX_PARAMS; ++i) many += "x" + std::to_string(i) + "=1&";
  body(many, 400);
  auto huge = m_client->Get(("/?q=" + std::string(20000, 'a')).c_str());
  ASSERT_TRUE(huge);
  EXPECT_GE(huge->status, 400) << "a request line beyond the server's bound";
}

TEST_F(Web, UnknownIdsReleasesAndPathsAre404) {
  body("/c/" + std::string(64, '0'), 404);
  body("/c/00000000", 404);
  body("/c/zz", 404);
  body("/r/nosuchrelease", 404);
  body("/r/weekly@9", 404);
  body("/r/nosuchrelease/manifest", 404);
  body("/nowhere", 404);
}

TEST_F(Web, ClippingPageGivesFullTextAndProvenanceInWords) {
  const auto html = body("/c/" + m_mali.hex());
  EXPECT_TRUE(has(html, "Aid agencies say thousands are displaced."));
  EXPECT_TRUE(has(html, "The need is urgent."));
  EXPECT_TRUE(has(html, "✓ trusted"));
  EXPECT_TRUE(has(html, "valid: signed by HQ"));
  EXPECT_TRUE(has(html, "weekly@1"));
  EXPECT_TRUE(has(html, "href=\"/r/weekly@1\""));
  // A unique prefix names it too, as on the command line.
  EXPECT_TRUE(has(body("/c/" + m_mali.hex().substr(0, 12)), "The need is urgent."));
  const auto stranger = body("/c/" + m_script.hex());
  EXPECT_TRUE(has(stranger, "untrusted: "));
  EXPECT_TRUE(has(stranger, "no trust path from this node&#39;s anchors"));
  EXPECT_TRUE(has(stranger, "listed by no release here"));
}

// The reading room reads clippings as `list` and `show` do: corrected by the annotations in
// effect here, one row per article, duplicates under their original, what corrected it named.
TEST_F(Web, PagesShowTheCorrectedViewAndWhatCorrectedIt) {
  store::AnnotateRequest retitle;
  retitle.clipping = m_kenya;
  retitle.title = "Kenya: Tana River floods";
  retitle.addTags = {"flood"};
  retitle.reason = "the signed title named no river";
  ASSERT_TRUE(store::annotate(*m_archive.archive, m_hq, retitle, 3000).ok());
  store::AnnotateRequest duplicate;
  duplicate.clipping = m_drc;
  duplicate.duplicateOf = m_mali;
  ASSERT_TRUE(store::annotate(*m_archive.archive, m_hq, duplicate, 3001).ok());

  const auto front = body("/");
  EXPECT_TRUE(has(front, "Kenya: Tana River floods")) << front;
  EXPECT_FALSE(has(front, "Kenya: floods in the north"));
  EXPECT_FALSE(has(front, "DRC: talks")) << "a duplicate is listed under its original";
  EXPECT_TRUE(has(front, "duplicates: " + m_drc.hex().substr(0, 12)));
  // A tag an annotation added finds the clipping, and so does a word of its corrected title.
  EXPECT_TRUE(has(body("/?tag=flood"), "Kenya: Tana River floods"));
  EXPECT_TRUE(has(body("/?q=tana+river"), "Kenya: Tana River floods"));
  EXPECT_FALSE(has(body("/?q=tana+kampala"), "Kenya: Tana River floods"));

  const auto page = body("/c/" + m_kenya.hex());
  EXPECT_TRUE(has(page, "<h1>Kenya: Tana River floods</h1>"));
  EXPECT_TRUE(has(page, "retitled by HQ"));
  EXPECT_TRUE(has(page, "(was: Kenya: floods in the north): the signed title named no river"));
  EXPECT_TRUE(has(page, "tag flood added by HQ"));
  EXPECT_TRUE(has(body("/c/" + m_drc.hex()), "duplicate of " + m_mali.hex()));
}

TEST_F(Web, ReleasesPagesShowChainSignerVerdictClippingsAndExport) {
  const auto list = body("/releases");
  EXPECT_TRUE(has(list, "weekly@1"));
  EXPECT_TRUE(has(list, "HQ"));
  const auto page = body("/r/weekly@1");
  EXPECT_EQ(page, body("/r/weekly")) << "the name alone is the latest of its chain";
  EXPECT_TRUE(has(page, "valid: signed by HQ"));
  EXPECT_TRUE(has(page, "chain intact back to weekly@1"));
  EXPECT_TRUE(has(page, "3 clippings, all trusted"));
  EXPECT_TRUE(has(page, "Mali: displaced"));
  EXPECT_FALSE(has(page, "Evil")) << "the stranger's clippings are not in the release";
  auto manifest = get("/r/weekly@1/manifest");
  ASSERT_TRUE(manifest);
  EXPECT_EQ(manifest->status, 200);
  EXPECT_TRUE(has(manifest->body, m_mali.hex()));
  EXPECT_TRUE(has(manifest->get_header_value("Content-Type"), "text/plain"));
  auto key = get("/r/weekly@1/minisign.pub");
  ASSERT_TRUE(key);
  EXPECT_TRUE(has(key->body, "untrusted comment: minisign public key"));
  const auto print = body("/r/weekly@1/print");
  EXPECT_TRUE(has(print, "The need is urgent."));
  EXPECT_TRUE(has(print, "Rivers rose after rain."));
  EXPECT_TRUE(has(print, "valid: signed by HQ"));
}

TEST_F(Web, PrintableSearchHoldsTheFullTextOfEveryMatch) {
  const auto html = body("/print?q=displaced");
  EXPECT_TRUE(has(html, "The need is urgent."));
  EXPECT_TRUE(has(html, "in release weekly@1"));
  EXPECT_FALSE(has(html, "Rivers rose"));
}

TEST_F(Web, StatusNamesTheNode) {
  const auto html = body("/status");
  EXPECT_TRUE(has(html, "Goma office"));
  EXPECT_TRUE(has(html, "No peers listed."));
}

TEST_F(Web, StatusTellsEachPeersStandingAndWhatWaitsForIt) {
  m_archive.archive->write([&](store::WriteTxn& txn) {
    store::PeerRecord peer;
    peer.name = "bunia";
    peer.address = "tcp://127.0.0.1:7420";
    peer.key = keyNumber(5).publicKey();
    peer.state.lastSuccess = 1'700'000'000;
    peer.state.inStepAt = 1'700'000'000;
    peer.state.inStepSeq = 2;
    peer.state.lastErrorAt = 1'700'000'100;
    peer.state.lastError = "<b>cannot reach</b>";
    ASSERT_TRUE(store::putPeer(txn, peer, store::IfNameListed::Refuse).ok());
  });
  const auto html = body("/status");
  EXPECT_TRUE(has(html, "bunia"));
  EXPECT_TRUE(has(html, "in step as of 2023-11-14T22:13:20Z"));
  EXPECT_TRUE(has(html, "failing since 2023-11-14T22:15:00Z: &lt;b&gt;cannot reach&lt;/b&gt;"));
  // Five clippings, a release: seqs up to 6; it was in step at seq 2.
  EXPECT_TRUE(has(html, "4 objects stored here since it was last in step"));
}

TEST_F(Web, APasswordIsAskedWhenOneIsSet) {
  WebOptions options;
  options.password = "open sesame";
  start(options);
  auto res = get("/");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_FALSE(has(res->body, "Mali"));
  m_client->set_basic_auth("staff", "wrong");
  EXPECT_EQ(get("/")->status, 401);
  m_client->set_basic_auth("staff", "open sesame");
  EXPECT_TRUE(has(body("/"), "Mali: displaced"));
}

TEST(WebListen, ItListensOnLoopbackUnlessToldOtherwise) {
  EXPECT_EQ(std::string(WebOptions{}.listen), "127.0.0.1:7480");
  EXPECT_EQ(std::string(DEFAULT_WEB_LISTEN), "127.0.0.1:7480");
  store::testing::TempArchive archive;
  WebOptions options;
  options.listen = "127.0.0.1:0";
  WebServer server(*archive.archive, options);
  EXPECT_FALSE(server.beyondLoopback());
  EXPECT_TRUE(isLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(isLoopbackHost("::1"));
  EXPECT_TRUE(isLoopbackHost("localhost"));
  EXPECT_FALSE(isLoopbackHost("0.0.0.0"));
  EXPECT_FALSE(isLoopbackHost("192.168.1.10"));
  for (const char* bad : {"7480", "127.0.0.1:", "::1:7480", "127.0.0.1:99999", "host:port"}) {
    options.listen = bad;
    EXPECT_THROW(WebServer(*archive.archive, options), Error) << bad;
  }
}

TEST(WebPages, EscapeHtmlLeavesNoMarkupControlOrReorderingCharacter) {
  EXPECT_EQ(web::escapeHtml("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(web::escapeHtml("a\x1b[2Jb"), "a\xEF\xBF\xBD[2Jb");
  EXPECT_EQ(web::escapeHtml("line\nnext\tcol"), "line\nnext\tcol");
  EXPECT_EQ(web::escapeHtml("evil\u202Etxt.exe"), "evil\xEF\xBF\xBDtxt.exe");
  EXPECT_EQ(web::escapeHtml("bad\xC3"), "bad\xEF\xBF\xBD");
  EXPECT_EQ(web::escapeHtml("Kinshasa – Goma"), "Kinshasa – Goma");
}

TEST(WebPages, EveryRenderedTitleGoesThroughTheEscape) {
  web::ListView view;
  view.rows.push_back({protocol::ObjectId{},
                       IMG_TITLE,
                       "<b>src</b>",
                       "2013",
                       {"<i>"},
                       store::ClippingTrust::Unknown,
                       {std::string("also signed by ") + IMG_TITLE}});
  view.filters.q = "\"><script>";
  const auto html = web::renderList(view);
  for (const char* markup : {"<img", "<script", "<b>", "<i>"})
    EXPECT_EQ(html.find(markup), std::string::npos) << markup;
  EXPECT_NE(html.find("&lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
  EXPECT_NE(html.find("value=\"&quot;&gt;&lt;script&gt;\""), std::string::npos)
      << "the search stays inside its attribute";
}

}  // namespace
}  // namespace fieldsync::node
