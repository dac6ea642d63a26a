// SPDX-License-Identifier: AGPL-3.0-or-later
// Reconnect delays: 1 s, 2 s, 4 s ... capped at 30 s, with jitter applied after the cap so a
// fleet of agents never reconnects in the same second after a relay restart.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace nexus::net {

class Backoff {
public:
    using Duration = std::chrono::milliseconds;
    /// Returns a value in [0, 1); injectable so tests are deterministic.
    using Random = std::function<double()>;

    Backoff(Duration base, Duration cap, Random random);
    Backoff();  // 1 s, 30 s, a seeded Mersenne Twister

    struct Step {
        Duration nominal;  ///< 1 s, 2 s, 4 s ... cap (what the log shows)
        Duration delay;    ///< what to actually wait: in [nominal / 2, nominal]
    };

    /// The next delay; each call doubles the nominal delay up to the cap.
    Step next();

    /// Back to the base delay; called only after a successful registration, so a rejected
    /// token keeps backing off instead of hammering the relay.
    void reset() { attempt_ = 0; }

    unsigned attempt() const { return attempt_; }

private:
    Duration base_;
    Duration cap_;
    Random random_;
    unsigned attempt_ = 0;
};

}  // namespace nexus::net
