// SPDX-License-Identifier: AGPL-3.0-or-later
// Internal to the agent's v2 path: the state of one stream's exchange with the local app,
// shared by v2_exchange.cpp (flow, answers, clean-up) and v2_transfer.cpp (bytes both ways).
#pragma once

#include "client/agent_session.hpp"
#include "client/v2_exchange.hpp"
#include "client/v2_local_http.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <limits>
#include <optional>

namespace nexus::client::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace v2 = protocol::v2;
using Clock = std::chrono::steady_clock;

inline constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

/// One stream, from its REQUEST to the end of both directions. Lives in serveV2Stream's frame.
class V2Exchange {
public:
    V2Exchange(V2Context& context, std::shared_ptr<net::V2Mux> mux,
               std::shared_ptr<net::V2Stream> stream, const v2::ReceivedRequest& head,
               bool endStream)
        : c_(context),
          mux_(std::move(mux)),
          stream_(std::move(stream)),
          head_(head),
          endStream_(endStream),
          requestId_(requestIdOf(head.headers())) {}

    asio::awaitable<void> run();

private:
    asio::awaitable<bool> connect();
    asio::awaitable<bool> sendHead();
    asio::awaitable<bool> upload();
    asio::awaitable<bool> download();
    asio::awaitable<std::optional<std::size_t>> readHead();
    asio::awaitable<bool> refuse(std::string_view text);
    asio::awaitable<bool> forwardLength(std::uint64_t length);
    asio::awaitable<bool> forwardBuffered(
        bool last, std::size_t count = std::numeric_limits<std::size_t>::max());
    asio::awaitable<bool> forwardFromSocket(std::uint64_t remaining);
    asio::awaitable<bool> forwardChunked();
    asio::awaitable<std::size_t> readChunk(ErrorCode& ec);
    void abandonStalledSend();
    asio::awaitable<bool> failBeforeHead();
    asio::awaitable<bool> pipe();
    asio::awaitable<void> answer(int status, std::string_view text);
    asio::awaitable<void> wrapUp();
    void abandon(v2::ResetCode code);
    void reportHead();
    void report(RequestEvent::Phase phase);

    V2Context& c_;
    std::shared_ptr<net::V2Mux> mux_;
    std::shared_ptr<net::V2Stream> stream_;
    const v2::ReceivedRequest& head_;
    const bool endStream_;
    const std::string_view requestId_;  ///< into head_
    const Clock::time_point started_ = Clock::now();
    bool webSocket_ = false;
    bool hasBody_ = false;
    LocalRequest request_;
    std::optional<http::response_parser<http::buffer_body>> parser_;  ///< chunked bodies only
    std::unique_ptr<LocalPool::Stream> local_;
    beast::flat_buffer buffer_;
    std::unique_ptr<char[]> chunk_;  ///< decoded pieces of a chunked body, one DATA frame each
    int attempt_ = 0;
    bool reused_ = false;
    bool retry_ = false;
    bool headWriteFailed_ = false;
    bool gotSome_ = false;      ///< the app sent a byte of its response
    bool invalidHead_ = false;  ///< its head was larger than allowed
    bool headSent_ = false;
    bool answered_ = false;  // the head is the agent's own 4xx/5xx, already logged as such
    bool uploadClean_ = false;
    bool downloadClean_ = false;
    bool keepAlive_ = false;
    bool upgraded_ = false;
    int status_ = 0;
    ErrorCode failure_;
};

}  // namespace nexus::client::detail
