#pragma once
// The dashboard's read-only JSON API (issue 14), apart from HTTP: what GET /ui/api/list and
// /ui/api/object answer, the query strings they take, and the framing of the server-sent
// events the watch and log streams write (dashboard_streams.h). Every object leaves through
// to_client_json(), so secrets are redacted exactly as `cenv get` shows them. Thread-safe.

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/kinds.h"
#include "api/selector.h"
#include "controller/server/api_service.h"

namespace cenv {

// The decoded parameters of a query string ("a=1&b=x%20y"); a name given twice keeps the last.
using QueryParams = std::map<std::string, std::string, std::less<>>;

// Parses the query of `target` (what follows '?'; none: empty), percent- and '+'-decoding
// names and values. A malformed escape is kept as written.
QueryParams parse_query(std::string_view target);

// An answer to one HTTP request, before it is framed.
struct HttpAnswer {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers = {};  // more headers (Location)
};

// The Content-Security-Policy of every dashboard answer: nothing but the dashboard's own files
// runs in the page, and it talks only to its own origin.
inline constexpr std::string_view kDashboardContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// The kinds the dashboard shows (and the only ones it lists or watches).
inline constexpr std::string_view kDashboardKinds[] = {"Environment", "Module", "Service",
                                                       "CommandRun", "Event"};

// What a list or a watch of the dashboard asks for: kinds, namespace, label selector and name.
struct DashboardQuery {
  std::vector<const KindInfo*> kinds;  // canonical, none twice, at least one
  std::string ns;                      // empty: every namespace
  LabelSelector selector;
  std::string name;  // empty: every name
};

// Reads `kinds` (comma-separated kind names, plural or short names accepted), `namespace`,
// `labelSelector` and `name` from `q`. Invalid naming the parameter when a kind is unknown or
// not one of kDashboardKinds, or the selector does not parse.
Result<DashboardQuery> read_dashboard_query(const KindRegistry& kinds, const QueryParams& q);

// One server-sent event: "event: TYPE" (when not empty), "id: ID" (when not empty), one
// "data: " line per line of `data` (CR, LF and CRLF all end a line), then a blank line.
std::string sse_event(std::string_view type, std::string_view data, std::string_view id = "");
// A comment line (": TEXT") and a blank line: a heartbeat the browser ignores.
std::string sse_comment(std::string_view text);

// `bytes` with each invalid UTF-8 sequence replaced by U+FFFD, so that output of a program can
// travel as a JSON string.
std::string valid_utf8(std::string_view bytes);

// The JSON text of `text` as a string literal, quoted and escaped.
std::string json_quote(std::string_view text);

class DashboardApi {
 public:
  // `api` must outlive this.
  explicit DashboardApi(ApiService& api) : api_(api) {}

  // GET /ui/api/list?kinds=...&namespace=...&labelSelector=...&name=...: every object of the
  // kinds as {"resourceVersion": "R", "items": [...]}, each item as `cenv get -o json` shows it.
  // R is the oldest revision the kinds were read at, so that a watch from R misses nothing
  // (it may repeat what the list holds: compare resourceVersions). 400 with the message on a
  // bad query, 500 when the store fails.
  HttpAnswer list(const QueryParams& q) const;
  // GET /ui/api/object?kind=...&namespace=...&name=...: {"resourceVersion": "R", "object": {...}}
  // (redacted). 404 when there is none, 400 on a bad query.
  HttpAnswer object(const QueryParams& q) const;

  ApiService& api() const { return api_; }

 private:
  ApiService& api_;
};

// An error answer: {"error": message} with `status`.
HttpAnswer json_error(int status, std::string_view message);

}  // namespace cenv
