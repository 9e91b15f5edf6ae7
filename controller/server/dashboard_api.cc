#include "controller/server/dashboard_api.h"

#include <algorithm>
#include <boost/json.hpp>

#include "api/environment_secrets.h"

namespace cenv {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 &&
               hex_digit(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string_view param(const QueryParams& q, std::string_view name) {
  auto it = q.find(name);
  return it == q.end() ? std::string_view() : std::string_view(it->second);
}

int http_status(const Status& s) {
  switch (s.code()) {
    case Code::kNotFound:
      return 404;
    case Code::kInvalid:
      return 400;
    case Code::kForbidden:
    case Code::kUnauthenticated:
      return 403;
    case Code::kGone:
      return 410;
    case Code::kUnavailable:
    case Code::kResourceExhausted:
      return 503;
    default:
      return 500;
  }
}

}  // namespace

QueryParams parse_query(std::string_view target) {
  QueryParams out;
  auto q = target.find('?');
  if (q == std::string_view::npos) return out;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    std::string name = percent_decode(pair.substr(0, eq));
    std::string value =
        eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1));
    out[std::move(name)] = std::move(value);
  }
  return out;
}

Result<DashboardQuery> read_dashboard_query(const KindRegistry& kinds, const QueryParams& q) {
  DashboardQuery out;
  std::string_view list = param(q, "kinds");
  if (list.empty()) list = param(q, "kind");
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string_view name = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (name.empty()) continue;
    const KindInfo* info = kinds.find(name);
    bool shown = info != nullptr &&
                 std::find(std::begin(kDashboardKinds), std::end(kDashboardKinds), info->kind) !=
                     std::end(kDashboardKinds);
    if (!shown)
      return Status::Invalid("kinds: the dashboard shows no kind \"" + std::string(name) + "\"");
    if (std::find(out.kinds.begin(), out.kinds.end(), info) == out.kinds.end()) {
      out.kinds.push_back(info);
    }
  }
  if (out.kinds.empty()) return Status::Invalid("kinds: at least one kind is required");
  out.ns = std::string(param(q, "namespace"));
  out.name = std::string(param(q, "name"));
  auto selector = LabelSelector::parse(param(q, "labelSelector"));
  if (!selector.ok()) return selector.status().with_prefix("labelSelector");
  out.selector = std::move(selector).value();
  return out;
}

std::string sse_event(std::string_view type, std::string_view data, std::string_view id) {
  std::string out;
  out.reserve(data.size() + type.size() + id.size() + 32);
  if (!type.empty()) out.append("event: ").append(type).append("\n");
  if (!id.empty()) out.append("id: ").append(id).append("\n");
  size_t start = 0;
  for (;;) {
    size_t end = data.find_first_of("\r\n", start);
    out.append("data: ").append(data.substr(start, end - start)).append("\n");
    if (end == std::string_view::npos) break;
    start = end + (data[end] == '\r' && end + 1 < data.size() && data[end + 1] == '\n' ? 2 : 1);
  }
  out.append("\n");
  return out;
}

std::string sse_comment(std::string_view text) {
  std::string out(": ");
  for (char c : text) out.push_back(c == '\n' || c == '\r' ? ' ' : c);
  return out + "\n\n";
}

std::string valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size();
  for (size_t i = 0; i < n;) {
    unsigned char c = p[i];
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xE  ? 3
                 : (c >> 3) == 0x1E ? 4
                                    : 0;
    bool ok = len > 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; ++k) ok = (p[i + k] & 0xC0) == 0x80;
    if (ok && len > 1) {
      // Reject overlong forms, surrogates and code points past U+10FFFF.
      uint32_t cp = len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
      for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (p[i + k] & 0x3F);
      ok = (len == 2 && cp >= 0x80) || (len == 3 && cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF)) ||
           (len == 4 && cp >= 0x10000 && cp <= 0x10FFFF);
    }
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out.append("\xEF\xBF\xBD");
      ++i;
    }
  }
  return out;
}

std::string json_quote(std::string_view text) {
  return boost::json::serialize(boost::json::string(text));
}

HttpAnswer json_error(int status, std::string_view message) {
  return HttpAnswer{status, "application/json", "{\"error\":" + json_quote(message) + "}"};
}

HttpAnswer DashboardApi::list(const QueryParams& q) const {
  auto query = read_dashboard_query(api_.kinds(), q);
  if (!query.ok()) return json_error(400, query.status().message());
  std::string items;
  int64_t oldest = -1;
  for (const KindInfo* kind : query->kinds) {
    const std::string ns = kind->namespaced ? query->ns : std::string();
    auto listed = api_.list(kind->kind, ns, query->selector.to_string());
    if (!listed.ok()) return json_error(http_status(listed.status()), listed.status().message());
    if (oldest < 0 || listed->revision < oldest) oldest = listed->revision;
    for (const Object& o : listed->items) {
      if (!query->name.empty() && o.name() != query->name) continue;
      if (!items.empty()) items.push_back(',');
      items += to_client_json(o);  // secrets redacted
    }
  }
  return HttpAnswer{200, "application/json",
                    "{\"resourceVersion\":\"" + std::to_string(std::max<int64_t>(oldest, 0)) +
                        "\",\"items\":[" + items + "]}"};
}

HttpAnswer DashboardApi::object(const QueryParams& q) const {
  auto query = read_dashboard_query(api_.kinds(), q);
  if (!query.ok()) return json_error(400, query.status().message());
  if (query->kinds.size() != 1 || query->name.empty()) {
    return json_error(400, "object: one kind and a name are required");
  }
  const KindInfo* kind = query->kinds.front();
  // The revision before the read: a watch from it misses nothing after the object.
  auto revision = api_.store().revision();
  if (!revision.ok()) return json_error(500, revision.status().message());
  std::string ns = kind->namespaced ? (query->ns.empty() ? "default" : query->ns) : std::string();
  auto got = api_.get(kind->kind, ns, query->name);
  if (!got.ok()) return json_error(http_status(got.status()), got.status().message());
  return HttpAnswer{200, "application/json",
                    "{\"resourceVersion\":\"" + std::to_string(revision.value()) +
                        "\",\"object\":" + to_client_json(got.value()) + "}"};
}

}  // namespace cenv
