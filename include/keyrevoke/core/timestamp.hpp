#pragma once
// ISO 8601 timestamps (the API's created_at/updated_at, and --created-before & co.) as comparable
// microseconds since the Unix epoch, UTC.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace keyrevoke::core {

// Microseconds since 1970-01-01T00:00:00Z.
using unix_micros = std::int64_t;

// Accepts
//   2026-11-24                         (midnight UTC)
//   2026-11-24T10:00Z                  (seconds optional)
//   2026-11-24T10:00:00Z               ('T', 't' or one space between date and time)
//   2026-11-24T10:00:00.123456789Z     (1 to 9 fractional digits; kept to the microsecond, truncated)
//   2026-11-24T10:00:00+02:00          (also +0200 and +02; 'z' for Z)
//   2026-11-24T10:00:00                (no zone: UTC)
// Years 0000-9999; the day must exist (2026-02-29 does not); 24:00 and leap seconds are rejected.
// Anything else is nullopt. Never throws, never allocates.
std::optional<unix_micros> parse_timestamp(std::string_view text) noexcept;

// An age, as in `keyrevoke list --created-before 7d`: one or more <digits><unit> groups, unit s, m, h,
// d or w (seconds, minutes, hours, days of 24 h, weeks of 7 d; lower case), e.g. 7d, 36h, 1w2d, 90m,
// 0s. At most 100 years in all. Returns `now` minus the age, or nullopt for anything else (signs,
// spaces, fractions, a unit without digits, "d7"). Never throws, never allocates.
std::optional<unix_micros> parse_age(std::string_view text, unix_micros now) noexcept;

// A time a `list` filter takes: an ISO 8601 time (parse_timestamp), else an age before `now`
// (parse_age). Dates come first: "2026-11-24" is never an age.
std::optional<unix_micros> parse_time_or_age(std::string_view text, unix_micros now) noexcept;

// Ages count back from this machine's clock. When the server's (the Date of an answer, RFC 9110 6.6.1;
// nullopt: none or unreadable) differs from it by at least 5 minutes (Date has whole seconds; a page
// may take a while), the sentence `keyrevoke list` warns with: the skew, which way, and that selection
// by age is off by as much. "" otherwise. `local_now`: when the answer came.
std::string age_clock_warning(std::optional<unix_micros> server_now, unix_micros local_now);

}  // namespace keyrevoke::core
