// SPDX-License-Identifier: AGPL-3.0-or-later
// The pure parts of src/sd: listener name checks, journal entries, JOURNAL_STREAM, STATUS=.
#include "sd/journal_logger.hpp"
#include "sd/listen_fds.hpp"
#include "sd/message_ids.hpp"
#include "sd/notifier.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

namespace nexus::sd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr std::array<std::string_view, 4> kRelay{"control", "http", "websocket", "status"};

TEST(ListenerNames, MatchInAnyOrder) {
    const std::vector<std::string> passed{"status", "http", "control", "websocket"};
    EXPECT_THAT(checkListenerNames(passed, kRelay), IsEmpty());
}

TEST(ListenerNames, UnexpectedNameIsNamedWithWhatIsExpected) {
    const std::vector<std::string> passed{"control", "http", "websocket", "status", "metrics"};
    const auto error = checkListenerNames(passed, kRelay);
    EXPECT_THAT(error, HasSubstr("socket named \"metrics\" that this configuration does not use"));
    EXPECT_THAT(error, HasSubstr("\"control\", \"http\", \"websocket\", \"status\""));
}

TEST(ListenerNames, MissingNameIsNamed) {
    const std::vector<std::string> passed{"control", "http", "status"};
    EXPECT_THAT(checkListenerNames(passed, kRelay), HasSubstr("no socket named \"websocket\""));
}

TEST(ListenerNames, UnnamedSocketsAreUnknown) {
    const std::vector<std::string> passed{"unknown"};
    constexpr std::array<std::string_view, 1> kAgent{"status"};
    EXPECT_THAT(checkListenerNames(passed, kAgent), HasSubstr("\"unknown\""));
}

TEST(ListenerNames, NameGivenTwiceIsRefused) {
    const std::vector<std::string> passed{"control", "http", "http", "websocket", "status"};
    EXPECT_THAT(checkListenerNames(passed, kRelay), HasSubstr("two sockets named \"http\""));
}

TEST(ListenerNames, NoSocketsNoError) {
    // Not socket-activated at all is the daemon binding its own: the caller tells them apart.
    EXPECT_THAT(checkListenerNames({}, std::span<const std::string_view>{}), IsEmpty());
}

TEST(JournalEntry, CarriesMessagePriorityIdentifierAndFields) {
    const JournalLogger log(LogLevel::Info, "nexus-relay");
    EXPECT_THAT(log.entry(LogLevel::Warning, "Tunnel gone",
                          {message_id::field(message_id::kTunnelGone),
                           {"NEXUS_SLUG", "demo"},
                           {"NEXUS_DURATION_US", "1234"}}),
                ElementsAre("MESSAGE=Tunnel gone", "PRIORITY=4", "SYSLOG_IDENTIFIER=nexus-relay",
                            "MESSAGE_ID=facd4e0aba144a349191eb1dd5731322", "NEXUS_SLUG=demo",
                            "NEXUS_DURATION_US=1234"));
}

TEST(JournalEntry, EscapesControlCharactersInMessageAndValues) {
    const JournalLogger log(LogLevel::Info, "nexus-relay");
    EXPECT_THAT(log.entry(LogLevel::Info, "a\nb", {{"NEXUS_PATH", "/x\r\n\x1b[2J"}}),
                ElementsAre("MESSAGE=a\\x0ab", "PRIORITY=6", "SYSLOG_IDENTIFIER=nexus-relay",
                            "NEXUS_PATH=/x\\x0d\\x0a\\x1b[2J"));
}

TEST(JournalEntry, DropsFieldsTheJournalWouldRefuseOrThatWouldDuplicateOurs) {
    const JournalLogger log(LogLevel::Info, "nexus-relay");
    EXPECT_THAT(log.entry(LogLevel::Error, "m",
                          {{"nexus_slug", "x"}, {"_PID", "1"}, {"PRIORITY", "0"}, {"", "x"}}),
                ElementsAre("MESSAGE=m", "PRIORITY=3", "SYSLOG_IDENTIFIER=nexus-relay"));
}

TEST(JournalFieldName, FollowsJournaldRules) {
    EXPECT_TRUE(isJournalFieldName("NEXUS_SLUG"));
    EXPECT_TRUE(isJournalFieldName("MESSAGE_ID"));
    EXPECT_FALSE(isJournalFieldName("_SYSTEMD_UNIT"));
    EXPECT_FALSE(isJournalFieldName("1ABC"));
    EXPECT_FALSE(isJournalFieldName("Nexus"));
    EXPECT_FALSE(isJournalFieldName(std::string(65, 'A')));
    EXPECT_TRUE(isJournalFieldName(std::string(64, 'A')));
}

TEST(JournalStream, MatchesDeviceAndInode) {
    EXPECT_TRUE(journalStreamNames("8:1234", 8, 1234));
    EXPECT_FALSE(journalStreamNames("8:1235", 8, 1234));
    EXPECT_FALSE(journalStreamNames("9:1234", 8, 1234));
    EXPECT_FALSE(journalStreamNames("8:1234x", 8, 1234));
    EXPECT_FALSE(journalStreamNames("8", 8, 1234));
    EXPECT_FALSE(journalStreamNames("", 0, 0));
    EXPECT_FALSE(journalStreamNames(":", 0, 0));
}

TEST(NotifierStatus, CannotForgeAnotherAssignment) {
    EXPECT_EQ(Notifier::statusAssignment("12 tunnels, 340 req/min"),
              "STATUS=12 tunnels, 340 req/min");
    EXPECT_EQ(Notifier::statusAssignment("evil\nREADY=1"), "STATUS=evil\\x0aREADY=1");
}

}  // namespace
}  // namespace nexus::sd
