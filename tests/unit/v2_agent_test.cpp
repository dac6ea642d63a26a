// SPDX-License-Identifier: AGPL-3.0-or-later
// The agent side of protocol v2 in process: a relay-side V2Mux and an agent-side V2Mux on a
// real loopback socket pair, the agent's exchange code (serveV2Stream) and a small Beast HTTP
// server standing in for the local app. Taps on both transports decode every frame that
// crosses, so flow control is checked on the wire, not by asking the code under test.
#include "accept_each.hpp"
#include "client/local_response_head.hpp"
#include "client/v2_exchange.hpp"
#include "run_until_done.hpp"

#include "net/frame_connection.hpp"
#include "net/transport.hpp"
#include "net/v2/mux.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace nexus::client {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace v2 = protocol::v2;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// Flow control as seen on one side's wire: DATA bytes received per stream against the
// WINDOW_UPDATE increments this side had written out before them.
struct Tap {
    std::map<std::uint32_t, std::int64_t> received;
    std::map<std::uint32_t, std::int64_t> granted;  // stream 0: the connection
    std::int64_t receivedTotal = 0;
    std::int64_t maxStreamInFlight = 0;
    std::int64_t maxConnectionInFlight = 0;
    v2::FrameDecoder in;
    v2::FrameDecoder out;

    void onRead(std::string_view bytes) {
        in.append(bytes);
        for (auto frame = in.next(); frame && *frame; frame = in.next()) {
            const auto& h = (*frame)->header;
            if (h.type != v2::FrameType::Data) {
                continue;
            }
            const auto size = static_cast<std::int64_t>((*frame)->payload.size());
            received[h.stream] += size;
            receivedTotal += size;
            maxStreamInFlight = std::max(maxStreamInFlight, received[h.stream] - granted[h.stream]);
            maxConnectionInFlight = std::max(maxConnectionInFlight, receivedTotal - granted[0]);
        }
    }

    void onWritten(std::string_view bytes) {
        out.append(bytes);
        for (auto frame = out.next(); frame && *frame; frame = out.next()) {
            if ((*frame)->header.type == v2::FrameType::WindowUpdate) {
                if (auto increment = v2::decodeWindowUpdate((*frame)->payload)) {
                    granted[(*frame)->header.stream] += *increment;
                }
            }
        }
    }
};

class TapTransport final : public net::Transport {
public:
    TapTransport(std::unique_ptr<net::Transport> inner, std::shared_ptr<Tap> tap)
        : inner_(std::move(inner)), tap_(std::move(tap)) {}

    asio::awaitable<std::size_t> readSome(asio::mutable_buffer buffer, ErrorCode& ec) override {
        const std::size_t n = co_await inner_->readSome(buffer, ec);
        tap_->onRead(std::string_view(static_cast<const char*>(buffer.data()), n));
        co_return n;
    }

    asio::awaitable<void> writeAll(asio::const_buffer buffer, ErrorCode& ec) override {
        co_await inner_->writeAll(buffer, ec);
        if (!ec) {
            tap_->onWritten(
                std::string_view(static_cast<const char*>(buffer.data()), buffer.size()));
        }
    }

    void close() override { inner_->close(); }
    const std::string& peer() const override { return inner_->peer(); }
    std::string_view door() const override { return "tap"; }

private:
    std::unique_ptr<net::Transport> inner_;
    std::shared_ptr<Tap> tap_;
};

// The request events the exchange reported, with their views copied out.
struct SeenRequest {
    RequestEvent::Phase phase;
    std::string requestId, method, path;
    int status = 0;
    ErrorCode failure;
};

class CapturingBoard {
public:
    CapturingBoard() {
        board.onRequest([this](const RequestEvent& e) {
            seen.push_back({e.phase, std::string(e.requestId), std::string(e.method),
                            std::string(e.path), e.status, e.failure});
        });
    }
    AgentStatusBoard board{AgentStatus{}};
    std::vector<SeenRequest> seen;
};

// What the relay side got back for one stream.
struct Reply {
    std::optional<v2::ResponseHead> head;
    std::string body;
    bool ended = false;  // the agent ended its direction cleanly
    bool reset = false;
    v2::HeaderList trailers;
};

// The head as the relay received it, its fields copied out for the checks below.
std::optional<v2::ResponseHead> copyOf(const std::optional<v2::ReceivedResponse>& received) {
    if (!received) {
        return std::nullopt;
    }
    v2::ResponseHead head{received->status, {}};
    for (const auto& [name, value] : received->headers()) {
        head.headers.emplace_back(name, value);
    }
    return head;
}

std::string header(const v2::HeaderList& headers, std::string_view name) {
    for (const auto& [n, v] : headers) {
        if (n == name) {
            return v;
        }
    }
    return "(absent)";
}

std::string pattern(std::size_t size, unsigned seed) {
    std::string out(size, '\0');
    unsigned x = seed;
    for (auto& c : out) {
        x = x * 1103515245U + 12345U;
        c = static_cast<char>(x >> 16);
    }
    return out;
}

// The relay's part of one exchange: REQUEST, the body, then the response (read with a pause
// after each chunk when `readPause` is set, so the agent runs into the stream window).
asio::awaitable<void> relayExchange(std::shared_ptr<net::V2Mux> mux, v2::RequestHead request,
                                    std::string body, bool hasBody, Reply& reply,
                                    std::chrono::milliseconds readPause) {
    auto stream = mux->openStream(request, !hasBody);
    EXPECT_NE(stream, nullptr);
    if (!stream) {
        co_return;
    }
    if (hasBody) {
        EXPECT_TRUE(co_await stream->write(body, 5s));
        stream->finish();
    }
    reply.head = copyOf(co_await stream->responseHead(5s));
    if (!reply.head) {
        reply.reset = stream->wasReset();
        co_return;
    }
    asio::steady_timer pause(co_await asio::this_coro::executor);
    for (;;) {
        auto chunk = co_await stream->read(5s);
        if (!chunk) {
            break;
        }
        reply.body += *chunk;
        if (readPause > 0ms) {
            pause.expires_after(readPause);
            co_await pause.async_wait(kTuple);
        }
    }
    reply.ended = stream->peerEnded() && !stream->wasReset();
    reply.trailers = stream->trailers();
    reply.reset = stream->wasReset();
}

v2::RequestHead get(std::string target);

class V2AgentTest : public ::testing::Test {
protected:
    using Request = http::request<http::string_body>;
    using Response = http::response<http::string_body>;

    void SetUp() override {
        tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        tcp::socket relaySocket(io_);
        relaySocket.connect(acceptor.local_endpoint());
        tcp::socket agentSocket = acceptor.accept();
        auto relayConnection = std::make_shared<net::FrameConnection>(
            io_.get_executor(),
            std::make_unique<TapTransport>(net::makeTcpTransport(std::move(relaySocket)),
                                           relayTap_),
            protocol::kMaxFrameSize);
        auto agentConnection = std::make_shared<net::FrameConnection>(
            io_.get_executor(),
            std::make_unique<TapTransport>(net::makeTcpTransport(std::move(agentSocket)),
                                           agentTap_),
            protocol::kMaxFrameSize);
        for (auto& connection : {relayConnection, agentConnection}) {
            connection->useV2Framing();
            net::startPumps(connection, io_.get_executor());
        }
        relayConnection_ = relayConnection;
        relayMux_ = std::make_shared<net::V2Mux>(io_.get_executor(), relayConnection);
        agentMux_ = std::make_shared<net::V2Mux>(io_.get_executor(), agentConnection);
        agentMux_->onRequest([this](std::shared_ptr<net::V2Stream> stream, v2::ReceivedRequest head,
                                    bool endStream) {
            auto mux = agentMux_;
            asio::co_spawn(io_,
                           serveV2Stream(context_, std::move(mux), std::move(stream),
                                         std::move(head), endStream),
                           asio::detached);
        });
        asio::co_spawn(io_, relayMux_->run(), asio::detached);
        asio::co_spawn(io_, agentMux_->run(), [this](std::exception_ptr, ErrorCode ec) {
            agentEnd_ = ec;
            agentDone_ = true;
        });

        config_.localHost = "127.0.0.1";
        config_.localPort = local_.local_endpoint().port();
        asio::co_spawn(
            io_,
            testkit::acceptEach(
                local_, [this](tcp::socket socket) { onLocalConnection(std::move(socket)); }),
            asio::detached);
    }

    void TearDown() override {
        relayMux_->close(asio::error::eof);
        agentMux_->close(asio::error::eof);
        ErrorCode ignored;
        local_.close(ignored);
        for (auto& socket : localSockets_) {
            socket->close(ignored);
        }
        io_.run_for(500ms);
    }

    // Opens a stream from the relay side and returns it with the agent's end of it, which no
    // exchange code serves: the test drives both ends by hand.
    std::pair<std::shared_ptr<net::V2Stream>, std::shared_ptr<net::V2Stream>> openHeldStream(
        const std::string& target) {
        auto held = std::make_shared<std::shared_ptr<net::V2Stream>>();
        agentMux_->onRequest([held](std::shared_ptr<net::V2Stream> stream,
                                    const v2::ReceivedRequest&,
                                    bool) { *held = std::move(stream); });
        v2::RequestHead request = get(target);
        auto relayStream = relayMux_->openStream(request, false);
        const auto deadline = std::chrono::steady_clock::now() + 2s;
        while (!*held && io_.run_one_until(deadline) > 0) {
        }
        return {relayStream, *held};
    }

    // Runs `task` to completion (or fails after 10 s) while everything else keeps running.
    void runUntilDone(asio::awaitable<void> task) {
        ASSERT_TRUE(testkit::runUntilDone(io_, std::move(task), 10s))
            << "the exchange did not finish within 10 s";
    }

    Reply fetch(const v2::RequestHead& request, const std::string& body = {}, bool hasBody = false,
                std::chrono::milliseconds readPause = 0ms) {
        Reply reply;
        runUntilDone(relayExchange(relayMux_, request, body, hasBody, reply, readPause));
        return reply;
    }

    void onLocalConnection(tcp::socket socket) {
        ++accepted_;
        auto shared = std::make_shared<tcp::socket>(std::move(socket));
        localSockets_.push_back(shared);
        if (handler_) {
            asio::co_spawn(io_, handler_(shared), asio::detached);
        } else {
            asio::co_spawn(io_, serveLocal(shared), asio::detached);
        }
    }

    // The stand-in local app: whole requests in, responder_'s answers out, keep-alive.
    asio::awaitable<void> serveLocal(std::shared_ptr<tcp::socket> socket) {
        beast::flat_buffer buffer;
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.body_limit(64 * 1024 * 1024);
            auto [ec, n] = co_await http::async_read(*socket, buffer, parser, kTuple);
            if (ec) {
                co_return;
            }
            requests_.push_back(parser.release());
            requestWasChunked_.push_back(parser.chunked());
            Response response = responder_(requests_.back());
            auto [writeError, written] = co_await http::async_write(*socket, response, kTuple);
            if (writeError || !response.keep_alive() || closeAfterResponse_) {
                ErrorCode ignored;
                socket->close(ignored);
                co_return;
            }
        }
    }

    static Response text(http::status status, std::string body) {
        Response response{status, 11};
        response.set(http::field::content_type, "text/plain");
        response.body() = std::move(body);
        response.prepare_payload();
        return response;
    }

    asio::io_context io_;
    std::shared_ptr<Tap> relayTap_ = std::make_shared<Tap>();
    std::shared_ptr<Tap> agentTap_ = std::make_shared<Tap>();
    std::shared_ptr<net::FrameConnection> relayConnection_;  // to inject raw frames
    std::shared_ptr<net::V2Mux> relayMux_;
    std::shared_ptr<net::V2Mux> agentMux_;
    ErrorCode agentEnd_;
    bool agentDone_ = false;

    tcp::acceptor local_{io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
    std::vector<std::shared_ptr<tcp::socket>> localSockets_;
    int accepted_ = 0;
    std::vector<Request> requests_;
    std::vector<bool> requestWasChunked_;
    std::function<Response(const Request&)> responder_ = [](const Request&) {
        return text(http::status::ok, "ok");
    };
    std::function<asio::awaitable<void>(std::shared_ptr<tcp::socket>)> handler_;
    bool closeAfterResponse_ = false;

    AgentConfig config_;
    CapturingBoard events_;
    LocalPool pool_{io_.get_executor(), config_};
    V2Context context_{config_, pool_, events_.board};
};

v2::RequestHead get(std::string target) {
    return v2::RequestHead{"GET", std::move(target), {{"host", "demo.example"}}};
}

TEST_F(V2AgentTest, GetWithAOneMebibyteResponseArrivesIntactWithinTheStreamWindow) {
    const std::string body = pattern(1024 * 1024, 1);
    responder_ = [&body](const Request&) {
        Response response = text(http::status::ok, body);
        response.set(http::field::content_type, "application/octet-stream");
        return response;
    };
    // The relay reads slowly, so the agent must stop at the window and wait for updates.
    const Reply reply = fetch(get("/big?token=secret"), {}, false, 5ms);
    ASSERT_TRUE(reply.head);
    EXPECT_EQ(reply.head->status, 200);
    EXPECT_EQ(header(reply.head->headers, "content-length"), "1048576");
    EXPECT_EQ(header(reply.head->headers, "content-type"), "application/octet-stream");
    EXPECT_EQ(reply.body.size(), body.size());
    EXPECT_TRUE(reply.body == body) << "the body was altered on the way";
    EXPECT_TRUE(reply.ended);
    EXPECT_FALSE(reply.reset);
    // Measured on the relay's wire: DATA received minus the updates it had sent.
    EXPECT_LE(relayTap_->maxStreamInFlight, std::int64_t{v2::kInitialStreamWindow});
    EXPECT_GE(relayTap_->maxStreamInFlight, std::int64_t{v2::kInitialStreamWindow} * 3 / 4)
        << "the slow reader should have let the agent fill the window";
    EXPECT_LE(relayTap_->maxConnectionInFlight, std::int64_t{v2::kInitialConnectionWindow});
    ASSERT_EQ(requests_.size(), 1U);
    EXPECT_EQ(requests_[0].target(), "/big?token=secret");
    ASSERT_EQ(events_.seen.size(), 1U) << "one request event (at the head), none at a clean end";
    EXPECT_EQ(events_.seen[0].phase, RequestEvent::Phase::Head);
    EXPECT_EQ(events_.seen[0].method, "GET");
    EXPECT_EQ(events_.seen[0].path, "/big") << "the path without the query string";
    EXPECT_EQ(events_.seen[0].status, 200);
    const auto& counters = events_.board.current().counters;
    EXPECT_EQ(counters.requestsByClass[1], 1U);
    EXPECT_EQ(counters.timeToFirstByte.count(), 1U);
    EXPECT_EQ(counters.requestDuration.count(), 1U);
    EXPECT_EQ(counters.activeStreams, 0U);
}

TEST_F(V2AgentTest, AReaderThatKeepsUpGrowsItsStreamWindowToOneMebibyteAtMost) {
    const std::string body = pattern(8 * 1024 * 1024, 3);
    responder_ = [&body](const Request&) { return text(http::status::ok, body); };
    const Reply reply = fetch(get("/large"));  // the relay side reads as fast as it can
    ASSERT_TRUE(reply.head);
    EXPECT_TRUE(reply.body == body) << "the body was altered on the way";
    // The stream window the agent was left with, from what crossed the relay's wire.
    const std::int64_t initial = v2::kInitialStreamWindow;
    const std::int64_t window = initial + relayTap_->granted[1] - relayTap_->received[1];
    EXPECT_GT(window, initial) << "the window should have grown past its initial size";
    EXPECT_LE(window, 4 * initial);
    EXPECT_LE(relayTap_->maxStreamInFlight, 4 * initial);
    EXPECT_LE(relayTap_->maxConnectionInFlight, std::int64_t{v2::kInitialConnectionWindow});
}

TEST_F(V2AgentTest, PostWithAThreeMebibyteBodyArrivesIntactAtTheLocalServer) {
    const std::string body = pattern(3 * 1024 * 1024, 2);
    responder_ = [](const Request& request) {
        return text(http::status::created, std::to_string(request.body().size()));
    };
    v2::RequestHead request{"POST",
                            "/upload",
                            {{"host", "demo.example"},
                             {"content-length", std::to_string(body.size())},
                             {"content-type", "application/octet-stream"}}};
    const Reply reply = fetch(request, body, true);
    ASSERT_TRUE(reply.head);
    EXPECT_EQ(reply.head->status, 201);
    EXPECT_EQ(reply.body, std::to_string(body.size()));
    ASSERT_EQ(requests_.size(), 1U);
    EXPECT_EQ(requests_[0].body().size(), body.size());
    EXPECT_TRUE(requests_[0].body() == body) << "the upload was altered on the way";
    EXPECT_FALSE(requestWasChunked_[0]) << "a known length is kept";
    EXPECT_EQ(requests_[0][http::field::content_length], std::to_string(body.size()));
    // Measured on the agent's wire: the relay never sent beyond what the agent granted.
    EXPECT_LE(agentTap_->maxStreamInFlight, std::int64_t{v2::kInitialStreamWindow});
    EXPECT_LE(agentTap_->maxConnectionInFlight, std::int64_t{v2::kInitialConnectionWindow});
    EXPECT_EQ(agentTap_->received[1], static_cast<std::int64_t>(body.size()));
}

TEST_F(V2AgentTest, PostWithoutContentLengthGoesChunkedAndArrivesIntact) {
    const std::string body = pattern(700 * 1024, 3);
    const Reply reply =
        fetch(v2::RequestHead{"POST", "/stream", {{"host", "demo.example"}}}, body, true);
    ASSERT_TRUE(reply.head);
    EXPECT_EQ(reply.head->status, 200);
    ASSERT_EQ(requests_.size(), 1U);
    EXPECT_TRUE(requestWasChunked_[0]);
    EXPECT_TRUE(requests_[0].body() == body);
}

TEST_F(V2AgentTest, ARequestTargetOutsideOriginFormIsRefusedWithoutALocalConnection) {
    const Reply reply = fetch(get("//evil.example/x"));
    ASSERT_TRUE(reply.head);
    EXPECT_EQ(reply.head->status, 400);
    EXPECT_EQ(reply.body, "Invalid request target");
    EXPECT_TRUE(reply.ended);
    io_.run_for(50ms);
    EXPECT_EQ(accepted_, 0);
}

TEST_F(V2AgentTest, TheRelaysRequestIdReachesTheAppUnchangedAndIsInTheRequestEvent) {
    v2::RequestHead request = get("/");
    request.headers.emplace_back("x-request-id", "01HV6Z3K9Q");
    const Reply reply = fetch(request);
    ASSERT_TRUE(reply.head);
    ASSERT_EQ(requests_.size(), 1U);
    EXPECT_EQ(requests_[0]["x-request-id"], "01HV6Z3K9Q");
    ASSERT_EQ(events_.seen.size(), 1U);
    EXPECT_EQ(events_.seen[0].requestId, "01HV6Z3K9Q");
}

TEST_F(V2AgentTest, AnUnreachableLocalServerIsA502AndAnEventWithTheReason) {
    tcp::acceptor closed(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    config_.localPort = closed.local_endpoint().port();
    closed.close();
    const Reply reply = fetch(get("/down?q=1"));
    ASSERT_TRUE(reply.head);
    EXPECT_EQ(reply.head->status, 502);
    EXPECT_EQ(reply.body, "Local server unreachable");
    ASSERT_FALSE(events_.seen.empty());
    EXPECT_EQ(events_.seen[0].path, "/down");
    EXPECT_EQ(events_.seen[0].status, 502);
    EXPECT_EQ(events_.seen[0].failure, asio::error::connection_refused);
    EXPECT_EQ(events_.board.current().counters.requestsByClass[4], 1U);
}

TEST_F(V2AgentTest, ALocalServerThatNeverAnswersIsA504AfterTheHeadTimeout) {
    context_.limits.headTimeout = 300ms;
    handler_ = [](std::shared_ptr<tcp::socket> socket) -> asio::awaitable<void> {
        std::array<char, 4096> sink{};
        for (;;) {  // reads the request, answers nothing, until the agent gives up
            auto [ec, n] = co_await socket->async_read_some(asio::buffer(sink), kTuple);
            if (ec) {
                co_return;
            }
        }
    };
    const auto start = std::chrono::steady_clock::now();
    const Reply reply = fetch(get("/slow"));
    ASSERT_TRUE(reply.head);
    EXPECT_EQ(reply.head->status, 504);
    EXPECT_EQ(reply.body, "Local server did not answer in time");
    EXPECT_GE(std::chrono::steady_clock::now() - start, 290ms);
}

TEST_F(V2AgentTest, HeadKeepsContentLengthAndEndsWithTheResponseHead) {
    responder_ = [](const Request&) {
        Response response{http::status::ok, 11};
        response.content_length(1234);  // what a GET would carry; no body follows a HEAD
        return response;
    };
    const Reply reply = fetch(v2::RequestHead{"HEAD", "/file", {{"host", "demo.example"}}});
    ASSERT_TRUE(reply.head);
    EXPECT_EQ(reply.head->status, 200);
    EXPECT_EQ(header(reply.head->headers, "content-length"), "1234");
    EXPECT_TRUE(reply.body.empty());
    EXPECT_TRUE(reply.ended);
    EXPECT_EQ(relayTap_->receivedTotal, 0) << "END_STREAM rides on the RESPONSE, no DATA";
}

TEST_F(V2AgentTest, ChunkedResponsesCrossDechunkedWithoutHopByHopHeaders) {
    responder_ = [](const Request&) {
        Response response{http::status::ok, 11};
        response.set(http::field::content_type, "text/event-stream");
        response.set("Keep-Alive", "timeout=5");
        response.insert(http::field::set_cookie, "a=1");
        response.insert(http::field::set_cookie, "b=2");
        response.body() = "data: one\n\ndata: two\n\n";
        response.chunked(true);
        return response;
    };
    const Reply reply = fetch(get("/events"));
    ASSERT_TRUE(reply.head);
    EXPECT_EQ(reply.body, "data: one\n\ndata: two\n\n");
    EXPECT_EQ(header(reply.head->headers, "transfer-encoding"), "(absent)");
    EXPECT_EQ(header(reply.head->headers, "keep-alive"), "(absent)");
    const v2::HeaderList cookies{{"set-cookie", "a=1"}, {"set-cookie", "b=2"}};
    v2::HeaderList seen;
    std::copy_if(reply.head->headers.begin(), reply.head->headers.end(), std::back_inserter(seen),
                 [](const auto& f) { return f.first == "set-cookie"; });
    EXPECT_EQ(seen, cookies) << "repeated names are kept, in order";
}

TEST_F(V2AgentTest, TrailersOfAChunkedResponseCrossAsATrailersFrame) {
    handler_ = [](std::shared_ptr<tcp::socket> socket) -> asio::awaitable<void> {
        beast::flat_buffer buffer;
        http::request<http::string_body> request;
        auto [ec, n] = co_await http::async_read(*socket, buffer, request, kTuple);
        if (ec) {
            co_return;
        }
        static constexpr std::string_view kResponse =
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
            "5\r\nhello\r\n0\r\nX-Checksum: abc123\r\nConnection: close\r\n\r\n";
        co_await asio::async_write(*socket, asio::buffer(kResponse), kTuple);
    };
    const Reply reply = fetch(get("/with-trailers"));
    ASSERT_TRUE(reply.head);
    EXPECT_EQ(reply.body, "hello");
    EXPECT_TRUE(reply.ended);
    const v2::HeaderList expected{{"x-checksum", "abc123"}};  // hop-by-hop ones never cross
    EXPECT_EQ(reply.trailers, expected);
}

// The local app answers every request with these bytes, then closes the connection.
std::function<asio::awaitable<void>(std::shared_ptr<tcp::socket>)> rawAnswer(std::string bytes) {
    return
        [bytes = std::move(bytes)](std::shared_ptr<tcp::socket> socket) -> asio::awaitable<void> {
            beast::flat_buffer buffer;
            http::request<http::string_body> request;
            auto [ec, n] = co_await http::async_read(*socket, buffer, request, kTuple);
            if (!ec) {
                co_await asio::async_write(*socket, asio::buffer(bytes), kTuple);
            }
            socket->close();
        };
}

TEST_F(V2AgentTest, InterimResponsesAreSkippedAndTheFinalOneForwarded) {
    handler_ = rawAnswer(
        "HTTP/1.1 100 Continue\r\n\r\n"
        "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    const Reply reply = fetch(get("/hinted"));
    ASSERT_TRUE(reply.head);
    EXPECT_EQ(reply.head->status, 200);
    EXPECT_EQ(header(reply.head->headers, "link"), "(absent)");
    EXPECT_EQ(reply.body, "ok");
    EXPECT_TRUE(reply.ended);
}

TEST_F(V2AgentTest, MoreInterimResponsesThanAllowedAreA502) {
    std::string bytes;
    for (int i = 0; i <= kMaxInterimResponses; ++i) {
        bytes += "HTTP/1.1 103 Early Hints\r\n\r\n";
    }
    handler_ = rawAnswer(bytes + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    const Reply reply = fetch(get("/hinted"));
    ASSERT_TRUE(reply.head);
    EXPECT_EQ(reply.head->status, 502);
    EXPECT_EQ(reply.body, "Invalid response from the local server");
}

TEST_F(V2AgentTest, A101ToARequestWithoutUpgradeIsA502AndItsConnectionIsClosed) {
    auto closed = std::make_shared<bool>(false);
    handler_ = [closed](std::shared_ptr<tcp::socket> socket) -> asio::awaitable<void> {
        beast::flat_buffer buffer;
        http::request<http::string_body> request;
        auto [ec, n] = co_await http::async_read(*socket, buffer, request, kTuple);
        static constexpr std::string_view kSwitch =
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
        co_await asio::async_write(*socket, asio::buffer(kSwitch), kTuple);
        char byte = 0;
        auto [readError, read] = co_await socket->async_read_some(asio::buffer(&byte, 1), kTuple);
        *closed = readError == asio::error::eof;
    };
    const Reply reply = fetch(get("/switch"));
    ASSERT_TRUE(reply.head);
    EXPECT_EQ(reply.head->status, 502);
    EXPECT_EQ(reply.body, "Invalid upgrade response");
    io_.run_for(50ms);
    EXPECT_TRUE(*closed) << "the agent kept a connection that switched protocols";
    EXPECT_EQ(pool_.idleCount(), 0U);
}

// The local app answers each request with its target, and after the answer to "/first" writes
// a second response nobody asked for, `delay` later.
std::function<asio::awaitable<void>(std::shared_ptr<tcp::socket>)> answerThenStale(
    std::chrono::milliseconds delay) {
    return [delay](std::shared_ptr<tcp::socket> socket) -> asio::awaitable<void> {
        beast::flat_buffer buffer;
        for (;;) {
            http::request<http::string_body> request;
            auto [ec, n] = co_await http::async_read(*socket, buffer, request, kTuple);
            if (ec) {
                co_return;
            }
            const std::string target(request.target());
            const std::string bytes =
                "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(target.size()) + "\r\n\r\n" +
                target;
            co_await asio::async_write(*socket, asio::buffer(bytes), kTuple);
            if (target == "/first") {
                asio::steady_timer pause(co_await asio::this_coro::executor, delay);
                co_await pause.async_wait(kTuple);
                static constexpr std::string_view kStale =
                    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale";
                co_await asio::async_write(*socket, asio::buffer(kStale), kTuple);
            }
        }
    };
}

// Bytes after a response (more than the app announced, or a second response to a request it
// never got) must answer no later request: the connection is dropped, a clean one kept.
TEST_F(V2AgentTest, AnUnsolicitedResponseWrittenRightAfterTheAnswerNeverAnswersTheNextRequest) {
    handler_ = answerThenStale(0ms);
    EXPECT_EQ(fetch(get("/first")).body, "/first");
    io_.run_for(50ms);
    EXPECT_EQ(fetch(get("/second")).body, "/second");
    EXPECT_EQ(fetch(get("/third")).body, "/third");
    EXPECT_EQ(accepted_, 2) << "the clean connection is still reused";
}

TEST_F(V2AgentTest, AnUnsolicitedResponseArrivingOnAnIdleConnectionNeverAnswersTheNextRequest) {
    handler_ = answerThenStale(20ms);
    EXPECT_EQ(fetch(get("/first")).body, "/first");
    io_.run_for(50ms);  // the stale response reaches the idle pooled connection
    EXPECT_EQ(fetch(get("/second")).body, "/second");
    EXPECT_EQ(fetch(get("/third")).body, "/third");
    EXPECT_EQ(accepted_, 2) << "the clean connection is still reused";
}

// The local app's side of a response that breaks off: `bytes`, then a close, or a reset.
std::function<asio::awaitable<void>(std::shared_ptr<tcp::socket>)> brokenAnswer(std::string bytes,
                                                                                bool reset) {
    return [bytes = std::move(bytes),
            reset](std::shared_ptr<tcp::socket> socket) -> asio::awaitable<void> {
        beast::flat_buffer buffer;
        http::request<http::string_body> request;
        auto [ec, n] = co_await http::async_read(*socket, buffer, request, kTuple);
        co_await asio::async_write(*socket, asio::buffer(bytes), kTuple);
        asio::steady_timer pause(co_await asio::this_coro::executor, 20ms);
        co_await pause.async_wait(kTuple);
        ErrorCode ignored;
        if (reset) {
            socket->set_option(asio::socket_base::linger(true, 0), ignored);
        }
        socket->close(ignored);
    };
}

TEST_F(V2AgentTest, ABodyThatEndsEarlyResetsTheStreamWhateverItsFraming) {
    const std::vector<std::pair<std::string, bool>> cases{
        {"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial", false},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial", true},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7\r\npartial\r\n", false},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7\r\npartial\r\n", true},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7\r\npartial\r\n0\r\n",
         false},  // the last chunk without the empty line that ends the trailers
        {"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\npartial", true},
    };
    for (const auto& [bytes, reset] : cases) {
        handler_ = brokenAnswer(bytes, reset);
        const Reply reply = fetch(get("/broken"));
        const auto what = bytes.substr(17, 30) + (reset ? " then RST" : " then FIN");
        ASSERT_TRUE(reply.head) << what;
        EXPECT_EQ(reply.head->status, 200) << what;
        EXPECT_EQ(reply.body, "partial") << what;
        EXPECT_TRUE(reply.reset) << what;
        EXPECT_FALSE(reply.ended) << what;
    }
    EXPECT_EQ(pool_.idleCount(), 0U);
}

TEST_F(V2AgentTest, ABodyWithoutLengthEndsWhenTheAppClosesTheConnection) {
    const std::string body = pattern(300 * 1024, 7);
    handler_ =
        rawAnswer("HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n" + body);
    const Reply reply = fetch(get("/legacy"));
    ASSERT_TRUE(reply.head);
    EXPECT_EQ(reply.head->status, 200);
    EXPECT_EQ(reply.body.size(), body.size());
    EXPECT_TRUE(reply.body == body);
    EXPECT_TRUE(reply.ended);
    EXPECT_FALSE(reply.reset);
}

TEST_F(V2AgentTest, AMalformedOrOversizedResponseHeadIsA502) {
    const std::vector<std::string> heads{
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nhello",
        "HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-Big: " + std::string(70 * 1024, 'x') + "\r\n\r\n",
    };
    for (const auto& head : heads) {
        handler_ = rawAnswer(head);
        const Reply reply = fetch(get("/broken"));
        ASSERT_TRUE(reply.head) << head.substr(0, 60);
        EXPECT_EQ(reply.head->status, 502) << head.substr(0, 60);
        EXPECT_EQ(reply.body, "Invalid response from the local server");
    }
}

TEST_F(V2AgentTest, RequestHeadersReachTheLocalAppWithoutHopByHopOnes) {
    v2::RequestHead request{"GET",
                            "/h",
                            {{"host", "demo.example"},
                             {"te", "trailers"},
                             {"keep-alive", "300"},
                             {"x-custom", "1"},
                             {"accept", "a"},
                             {"accept", "b"}}};
    const Reply reply = fetch(request);
    ASSERT_TRUE(reply.head);
    ASSERT_EQ(requests_.size(), 1U);
    const auto& seen = requests_[0];
    EXPECT_EQ(seen[http::field::host], "demo.example");
    EXPECT_EQ(seen[http::field::te], "");
    EXPECT_EQ(seen[http::field::keep_alive], "");
    EXPECT_EQ(seen["x-custom"], "1");
    EXPECT_EQ(seen.count(http::field::accept), 2U) << "repeated names are kept";
}

TEST_F(V2AgentTest, HostHeaderOverrideReplacesTheVisitorsHost) {
    config_.hostHeader = "internal.lan";
    const Reply reply = fetch(get("/"));
    ASSERT_TRUE(reply.head);
    ASSERT_EQ(requests_.size(), 1U);
    EXPECT_EQ(requests_[0][http::field::host], "internal.lan");
    EXPECT_EQ(requests_[0].count(http::field::host), 1U);
}

TEST_F(V2AgentTest, KeepAliveConnectionsAreReused) {
    for (int i = 0; i < 3; ++i) {
        const Reply reply = fetch(get("/again"));
        ASSERT_TRUE(reply.head);
        EXPECT_EQ(reply.body, "ok");
    }
    EXPECT_EQ(accepted_, 1);
    EXPECT_EQ(pool_.idleCount(), 1U);
}

TEST_F(V2AgentTest, APooledConnectionClosedByTheAppIsNotUsedForAnUpload) {
    closeAfterResponse_ = true;  // keep-alive announced, then closed: the classic stale socket
    ASSERT_TRUE(fetch(get("/first")).head);
    io_.run_for(50ms);  // the FIN reaches the agent's idle connection
    const std::string body = pattern(100 * 1024, 4);
    v2::RequestHead request{
        "POST",
        "/second",
        {{"host", "demo.example"}, {"content-length", std::to_string(body.size())}}};
    const Reply reply = fetch(request, body, true);
    ASSERT_TRUE(reply.head);
    EXPECT_EQ(reply.head->status, 200);
    EXPECT_EQ(accepted_, 2);
    ASSERT_EQ(requests_.size(), 2U);
    EXPECT_TRUE(requests_[1].body() == body);
}

TEST_F(V2AgentTest, AWebSocketUpgradeBecomesARawPipeBothWays) {
    handler_ = [this](std::shared_ptr<tcp::socket> socket) -> asio::awaitable<void> {
        beast::flat_buffer buffer;
        http::request_parser<http::empty_body> parser;
        auto [ec, n] = co_await http::async_read(*socket, buffer, parser, kTuple);
        if (ec) {
            co_return;
        }
        requests_.emplace_back(parser.get().base());
        static constexpr std::string_view kSwitch =
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: abc\r\n\r\nhello";
        co_await asio::async_write(*socket, asio::buffer(kSwitch), kTuple);
        std::array<char, 1024> data{};
        for (;;) {  // echo in upper case until the agent half-closes
            auto [readError, got] = co_await socket->async_read_some(asio::buffer(data), kTuple);
            if (readError) {
                break;
            }
            std::transform(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(got),
                           data.begin(), [](char c) { return static_cast<char>(std::toupper(c)); });
            co_await asio::async_write(*socket, asio::buffer(data.data(), got), kTuple);
        }
        ErrorCode ignored;
        socket->shutdown(tcp::socket::shutdown_send, ignored);
    };
    std::string echoed;
    bool endedCleanly = false;
    int status = 0;
    runUntilDone([](std::shared_ptr<net::V2Mux> mux, std::string& echoed, bool& endedCleanly,
                    int& status) -> asio::awaitable<void> {
        v2::RequestHead request{"GET",
                                "/ws",
                                {{"host", "demo.example"},
                                 {"upgrade", "websocket"},
                                 {"connection", "upgrade"},
                                 {"sec-websocket-key", "dGhlIHNhbXBsZQ=="}}};
        auto stream = mux->openStream(request, false);
        auto head = co_await stream->responseHead(5s);
        if (!head) {
            co_return;
        }
        status = head->status;
        EXPECT_TRUE(co_await stream->write("ping", 5s));
        while (echoed.size() < std::string_view("helloPING").size()) {
            auto chunk = co_await stream->read(5s);
            if (!chunk) {
                co_return;
            }
            echoed += *chunk;
        }
        stream->finish();  // half-close: the app sees EOF and closes its side
        auto rest = co_await stream->read(5s);
        endedCleanly = !rest && stream->peerEnded() && !stream->wasReset();
    }(relayMux_, echoed, endedCleanly, status));
    EXPECT_EQ(status, 101);
    EXPECT_EQ(echoed, "helloPING");
    EXPECT_TRUE(endedCleanly);
    ASSERT_EQ(requests_.size(), 1U);
    EXPECT_EQ(requests_[0][http::field::upgrade], "websocket");
    EXPECT_EQ(requests_[0][http::field::connection], "Upgrade");
    EXPECT_EQ(pool_.idleCount(), 0U) << "an upgraded connection is never pooled";
}

TEST_F(V2AgentTest, OpenStreamsFinishAfterTheRelaysGoaway) {
    handler_ = [](std::shared_ptr<tcp::socket> socket) -> asio::awaitable<void> {
        beast::flat_buffer buffer;
        http::request<http::string_body> request;
        co_await http::async_read(*socket, buffer, request, kTuple);
        asio::steady_timer delay(socket->get_executor(), 200ms);
        co_await delay.async_wait(kTuple);  // the GOAWAY arrives while this one is open
        Response response = text(http::status::ok, "late but whole");
        co_await http::async_write(*socket, response, kTuple);
    };
    Reply reply;
    runUntilDone([](std::shared_ptr<net::V2Mux> mux,
                    std::shared_ptr<net::FrameConnection> connection,
                    Reply& reply) -> asio::awaitable<void> {
        v2::RequestHead request = get("/drain");
        auto stream = mux->openStream(request, true);
        asio::steady_timer pause(co_await asio::this_coro::executor, 50ms);
        co_await pause.async_wait(kTuple);
        std::string goaway;
        v2::appendGoaway(goaway, v2::GoawayCode::Shutdown, 1234);
        EXPECT_TRUE(connection->sendRaw(std::move(goaway)));
        reply.head = copyOf(co_await stream->responseHead(5s));
        while (auto chunk = co_await stream->read(5s)) {
            reply.body += *chunk;
        }
        reply.ended = stream->peerEnded() && !stream->wasReset();
    }(relayMux_, relayConnection_, reply));
    ASSERT_TRUE(reply.head);
    EXPECT_EQ(reply.body, "late but whole");
    EXPECT_TRUE(reply.ended);
    const auto deadline = std::chrono::steady_clock::now() + 2s;
    while (!agentDone_ && io_.run_one_until(deadline) > 0) {
    }
    EXPECT_TRUE(agentDone_) << "the agent closes once its last stream is done";
    ASSERT_TRUE(agentMux_->peerGoaway());
    EXPECT_EQ(agentMux_->peerGoaway()->retryAfterMs, 1234U);
}

TEST_F(V2AgentTest, ABodySentWithARefusedRequestIsDrainedNotLeftHoldingTheWindow) {
    const std::string body = pattern(1024 * 1024, 5);  // four stream windows
    v2::RequestHead request{"POST", "//bad", {{"host", "demo.example"}}};
    const Reply reply = fetch(request, body, true);  // the relay writes it all before reading
    ASSERT_TRUE(reply.head);
    EXPECT_EQ(reply.head->status, 400);
    EXPECT_EQ(reply.body, "Invalid request target");
    io_.run_for(50ms);  // the relay's END_STREAM reaches the draining agent
    EXPECT_EQ(agentMux_->streamCount(), 0U);
    EXPECT_EQ(accepted_, 0);
}

// Mux-level regressions found while writing the agent (src/net/v2_mux.cpp, v2_stream.cpp).

asio::awaitable<void> readOnce(std::shared_ptr<net::V2Stream> stream, bool& done) {
    co_await stream->read(2s);
    done = true;
}

asio::awaitable<void> writeSome(std::shared_ptr<net::V2Stream> stream, std::size_t size,
                                bool& done) {
    const std::string bytes(size, 'w');
    co_await stream->write(bytes, 2s);
    done = true;
}

TEST_F(V2AgentTest, AReaderAndAWriterWaitingOnOneStreamDoNotWakeEachOtherForever) {
    auto [relayStream, held] = openHeldStream("/pipe");
    ASSERT_TRUE(held);
    ASSERT_TRUE(agentMux_->sendResponse(*held, v2::ResponseHead{200, {}}, false));
    bool readDone = false;
    bool writeDone = false;
    // The relay reads nothing: the writer sends one window, then both wait on the stream.
    asio::co_spawn(io_, readOnce(held, readDone), asio::detached);
    asio::co_spawn(io_, writeSome(held, 300 * 1024, writeDone), asio::detached);
    const std::size_t handlers = io_.run_for(300ms);
    EXPECT_FALSE(readDone);
    EXPECT_FALSE(writeDone);
    EXPECT_LT(handlers, 2000U) << "two waiters on one stream are spinning";
    relayStream->reset(v2::ResetCode::Cancel);
    io_.run_for(100ms);
    EXPECT_TRUE(readDone);
    EXPECT_TRUE(writeDone);
}

TEST_F(V2AgentTest, UnreadBytesOfAResetStreamGoBackToTheConnectionWindow) {
    std::vector<std::shared_ptr<net::V2Stream>> held;  // never read
    agentMux_->onRequest([&held](std::shared_ptr<net::V2Stream> stream, const v2::ReceivedRequest&,
                                 bool) { held.push_back(std::move(stream)); });
    int sent = 0;
    runUntilDone([](std::shared_ptr<net::V2Mux> mux, int& sent) -> asio::awaitable<void> {
        const std::string chunk(200 * 1024, 'x');
        for (int i = 0; i < 30; ++i) {  // 6000 KiB in all: well over the 4 MiB connection window
            v2::RequestHead request = get("/unread");
            auto stream = mux->openStream(request, false);
            if (!stream || !co_await stream->write(chunk, 2s)) {
                co_return;
            }
            stream->reset(v2::ResetCode::Cancel);
            ++sent;
        }
    }(relayMux_, sent));
    EXPECT_EQ(sent, 30) << "abandoned bytes kept holding connection window";
}

// The agent finished its answer, then reset the stream to stop the rest of an upload it no
// longer wants: the relay must still hand the whole answer to its visitor.
TEST_F(V2AgentTest, AFinishedAnswerSurvivesTheAgentsResetThatFollowsIt) {
    auto [relayStream, held] = openHeldStream("/upload");
    ASSERT_TRUE(held);
    const std::string answer(200 * 1024, 'a');  // within the initial stream window
    runUntilDone([](std::shared_ptr<net::V2Mux> mux, std::shared_ptr<net::V2Stream> stream,
                    const std::string& answer) -> asio::awaitable<void> {
        EXPECT_TRUE(mux->sendResponse(*stream, v2::ResponseHead{413, {}}, false));
        EXPECT_TRUE(co_await stream->write(answer, 2s));
        stream->finish();
        stream->reset(v2::ResetCode::Cancel);
    }(agentMux_, held, answer));
    io_.run_for(50ms);  // the RESET has reached the relay before its reader starts
    ASSERT_TRUE(relayStream->wasReset());
    std::size_t received = 0;
    runUntilDone(
        [](std::shared_ptr<net::V2Stream> stream, std::size_t& received) -> asio::awaitable<void> {
            auto head = co_await stream->responseHead(2s);
            EXPECT_TRUE(head && head->status == 413);
            while (auto chunk = co_await stream->read(2s)) {
                received += chunk->size();
            }
        }(relayStream, received));
    EXPECT_EQ(received, answer.size());
    EXPECT_TRUE(relayStream->deliveredWhole());
}

// A relay whose visitor left gives up such an answer unread: its bytes go back to the
// connection window, or the tunnel would freeze once they filled the relay's 16 MiB budget
// and the 4 MiB window.
TEST_F(V2AgentTest, AnUnreadFinishedAnswerGoesBackToTheConnectionWindowWhenTheRelayResets) {
    std::vector<std::shared_ptr<net::V2Stream>> held;
    agentMux_->onRequest([&held](std::shared_ptr<net::V2Stream> stream, const v2::ReceivedRequest&,
                                 bool) { held.push_back(std::move(stream)); });
    int answered = 0;
    runUntilDone([](std::shared_ptr<net::V2Mux> relay, std::shared_ptr<net::V2Mux> agent,
                    std::vector<std::shared_ptr<net::V2Stream>>& held,
                    int& answered) -> asio::awaitable<void> {
        const std::string chunk(200 * 1024, 'x');
        for (int i = 0; i < 120; ++i) {  // 24000 KiB in all: over the budget and the window
            v2::RequestHead request = get("/unread");
            auto relayStream = relay->openStream(request, false);
            asio::steady_timer pause(co_await asio::this_coro::executor, 5ms);
            while (held.size() <= static_cast<std::size_t>(i)) {
                co_await pause.async_wait(kTuple);
                pause.expires_after(5ms);
            }
            auto& agentStream = held.back();
            EXPECT_TRUE(agent->sendResponse(*agentStream, v2::ResponseHead{200, {}}, false));
            if (!co_await agentStream->write(chunk, 2s)) {
                co_return;
            }
            agentStream->finish();
            agentStream->reset(v2::ResetCode::Cancel);
            pause.expires_after(5ms);
            co_await pause.async_wait(kTuple);
            relayStream->reset(v2::ResetCode::Cancel);  // nobody will read it
            ++answered;
        }
    }(relayMux_, agentMux_, held, answered));
    EXPECT_EQ(answered, 120) << "a finished answer given up unread kept its connection window";
}

}  // namespace
}  // namespace nexus::client
