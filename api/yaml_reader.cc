// Reading manifests: libyaml's event parser under cenv's limits (size, depth, aliases, nodes,
// scalar size) into Boost.JSON, with the line of every error.
#include "api/yaml_reader.h"

#include <yaml.h>

#include <algorithm>
#include <boost/json/basic_parser_impl.hpp>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <new>
#include <optional>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "api/display_text.h"
#include "api/utf8.h"
#include "api/yaml_scalars.h"
#include "api/yaml_split.h"

namespace cenv {
namespace {

namespace json = boost::json;

// ---------------------------------------------------------------------------------------------
// Failures

// A parse failure found below parse_manifest, which turns it into one Invalid Status. Thrown
// only inside this file, through the YAML event loop and Boost.JSON's parser (which allows
// handlers to throw), and never out of it.
struct ParseFailure : std::exception {
  std::string message;
  int line = 0;               // 1-based; 0 when not tied to a line
  int column = 0;             // 1-based; 0 when unknown
  int document = 0;           // 1-based; set for per-document limits
  bool line_unknown = false;  // a line applies but the reporter could not know it (JSON)

  const char* what() const noexcept override { return message.c_str(); }
};

[[noreturn]] void fail_at_line(int line, std::string message) {
  ParseFailure f;
  f.message = std::move(message);
  f.line = line;
  f.line_unknown = line <= 0;
  throw f;
}

std::string format_failure(std::string_view source, const ParseFailure& f) {
  std::string out(source);
  if (f.document > 0) {
    out += ": document " + std::to_string(f.document);
  } else if (f.line > 0) {
    out += ": line " + std::to_string(f.line);
    if (f.column > 0) out += ", column " + std::to_string(f.column);
  }
  out += ": ";
  out += f.message;
  return out;
}

// `s` as a JSON string literal, for messages that quote user text.
std::string json_quoted(std::string_view s) { return json::serialize(json::string_view(s)); }

// 1-based line of byte `offset` in `text`.
int line_at(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  int line = 1;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') ++line;
  }
  return line;
}

// ---------------------------------------------------------------------------------------------
// Scalar typing (api/yaml_scalars.h), by tag.

// Type of a scalar carrying `tag` ("?" plain, "!" quoted or block, else the explicit tag).
json::value resolve_tagged(const std::string& tag, const std::string& text, int line) {
  if (tag == "?") return resolve_yaml_plain(text);
  constexpr std::string_view kCoreTag = "tag:yaml.org,2002:";
  if (std::string_view(tag).starts_with(kCoreTag)) {
    std::string_view name = std::string_view(tag).substr(kCoreTag.size());
    auto bad = [&]() {
      fail_at_line(line, json_quoted(text) + " is not a valid !!" + std::string(name));
    };
    if (name == "null") {
      if (!is_yaml_null(text)) bad();
      return nullptr;
    }
    if (name == "bool") {
      if (auto b = resolve_yaml_bool(text)) return *b;
      bad();
    }
    if (name == "int") {
      if (auto i = resolve_yaml_int(text)) return *i;
      bad();
    }
    if (name == "float") {
      if (auto d = resolve_yaml_float(text)) return *d;
      if (auto i = resolve_yaml_int(text)) return i->to_number<double>();
      bad();
    }
  }
  // "!" (quoted and block scalars), !!str, !!binary, !!timestamp and unknown tags: the text.
  return json::string(text);
}

// ---------------------------------------------------------------------------------------------
// TreeBuilder: turns parse events (from libyaml or Boost.JSON) into one boost::json::value per
// document, enforcing depth, node-count and scalar-size limits as the events arrive, resolving
// aliases and merge keys ("<<"), and refusing duplicate keys.

class TreeBuilder {
 public:
  TreeBuilder(const ParseLimits& limits, size_t* total_nodes)
      : limits_(limits), total_nodes_(total_nodes) {}

  void start_document(int index) {
    stack_.clear();
    anchors_.clear();
    root_ = nullptr;
    doc_nodes_ = 0;
    index_ = index;
    first_line_ = 0;
  }
  // The finished document (null when it was empty).
  json::value take_root() { return std::move(root_); }
  // Line of the document's first node; 0 when unknown.
  int first_line() const { return first_line_; }

  bool expecting_key() const {
    return !stack_.empty() && stack_.back().is_map && !stack_.back().has_key;
  }

  void check_scalar_size(size_t size, int line) const {
    if (size > limits_.max_scalar_bytes) {
      fail_at_line(line, "a scalar of " + std::to_string(size) +
                             " bytes is longer than the limit of " +
                             std::to_string(limits_.max_scalar_bytes) + " bytes");
    }
  }

  void begin_collection(bool is_map, int line, size_t anchor) {
    if (expecting_key()) fail_at_line(line, "mapping keys must be scalars");
    if (stack_.size() >= limits_.max_depth) {
      fail_at_line(line, "nesting is deeper than the limit of " +
                             std::to_string(limits_.max_depth) + " levels");
    }
    note_line(line);
    size_t start = doc_nodes_;
    add_nodes(1);
    Frame f;
    f.value = is_map ? json::value(json::object()) : json::value(json::array());
    f.is_map = is_map;
    f.anchor = anchor;
    f.start_nodes = start;
    f.line = line;
    stack_.push_back(std::move(f));
  }

  void end_collection() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    if (f.anchor != 0) anchors_[f.anchor] = Anchored{f.value, doc_nodes_ - f.start_nodes, {}};
    attach(std::move(f.value), f.line);
  }

  // A scalar; `text` is its source text, used when it is a mapping key. `plain` is true for an
  // untagged plain scalar (only those can be the merge key "<<").
  void scalar(json::value v, std::string_view text, int line, size_t anchor, bool plain) {
    if (anchor != 0) anchors_[anchor] = Anchored{v, 1, std::string(text)};
    if (expecting_key()) {
      key(std::string(text), line, plain && text == "<<");
      return;
    }
    note_line(line);
    add_nodes(1);
    attach(std::move(v), line);
  }

  void alias(size_t anchor, int line) {
    auto it = anchors_.find(anchor);
    // Unknown names are refused before; an anchor still under construction is a recursive alias.
    if (it == anchors_.end())
      fail_at_line(line, "an alias cannot refer to a node that contains it");
    const Anchored& a = it->second;
    if (expecting_key()) {
      if (!a.key_text) fail_at_line(line, "mapping keys must be scalars");
      key(*a.key_text, line, false);
      return;
    }
    note_line(line);
    add_nodes(a.nodes);  // before copying: an alias bomb stops here
    attach(json::value(a.value), line);
  }

  void key(std::string k, int line, bool merge) {
    check_scalar_size(k.size(), line);
    Frame& f = stack_.back();
    f.has_key = true;
    if (merge) {
      f.merge_next = true;
      return;
    }
    if (f.value.as_object().contains(k) && !f.merged.contains(k)) {
      fail_at_line(line, "duplicate key " + json_quoted(k));
    }
    f.key = std::move(k);
  }

 private:
  struct Frame {
    json::value value;  // object or array under construction
    bool is_map = false;
    bool has_key = false;                    // maps: a key has been read, its value not yet
    bool merge_next = false;                 // maps: the pending key is "<<"
    std::string key;                         // maps: the pending key
    std::unordered_set<std::string> merged;  // maps: keys that came from "<<" (overridable)
    size_t anchor = 0;
    size_t start_nodes = 0;
    int line = 0;
  };
  struct Anchored {
    json::value value;
    size_t nodes = 0;
    std::optional<std::string> key_text;  // scalars only
  };

  void note_line(int line) {
    if (stack_.empty() && first_line_ == 0) first_line_ = line;
  }

  void add_nodes(size_t n) {
    doc_nodes_ += n;
    *total_nodes_ += n;
    if (doc_nodes_ > limits_.max_nodes_per_document) {
      ParseFailure f;
      f.document = index_;
      f.message = "expands to more than " + std::to_string(limits_.max_nodes_per_document) +
                  " nodes (alias bomb?)";
      throw f;
    }
    if (*total_nodes_ > limits_.max_total_nodes) {
      ParseFailure f;
      f.message =
          "has more than " + std::to_string(limits_.max_total_nodes) + " nodes in all documents";
      throw f;
    }
  }

  void attach(json::value v, int line) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return;
    }
    Frame& f = stack_.back();
    if (!f.is_map) {
      f.value.as_array().push_back(std::move(v));
      return;
    }
    f.has_key = false;
    if (f.merge_next) {
      f.merge_next = false;
      merge(f, std::move(v), line);
      return;
    }
    f.value.as_object().insert_or_assign(f.key, std::move(v));
    if (!f.merged.empty()) f.merged.erase(f.key);
  }

  // "<<: *base" or "<<: [*a, *b]": keys of the current mapping win, then earlier mappings.
  void merge(Frame& f, json::value v, int line) {
    auto merge_one = [&f](json::object& src) {
      json::object& dst = f.value.as_object();
      for (auto& kv : src) {
        if (dst.contains(kv.key())) continue;
        f.merged.emplace(kv.key());
        dst.emplace(kv.key(), std::move(kv.value()));
      }
    };
    if (v.is_object()) {
      merge_one(v.as_object());
      return;
    }
    if (v.is_array()) {
      bool all_maps = true;
      for (auto& e : v.as_array()) all_maps = all_maps && e.is_object();
      if (all_maps) {
        for (auto& e : v.as_array()) merge_one(e.as_object());
        return;
      }
    }
    fail_at_line(line, "the merge key \"<<\" needs a mapping or a list of mappings");
  }

  const ParseLimits& limits_;
  size_t* total_nodes_;
  std::vector<Frame> stack_;
  std::unordered_map<size_t, Anchored> anchors_;
  json::value root_;
  size_t doc_nodes_ = 0;
  int index_ = 0;
  int first_line_ = 0;
};

// ---------------------------------------------------------------------------------------------
// YAML through libyaml's event parser (no node tree: aliases are counted before they are
// copied, and nesting is refused as it arrives). libyaml's parser keeps its own state on the
// heap, never recursing, and bounds the tokens it holds back (a simple key is one line of at
// most 1024 characters).

int line_of(const yaml_mark_t& mark) { return static_cast<int>(mark.line) + 1; }

// YAML text is Unicode; libyaml's reader refuses other bytes in UTF-8 input, and this checks
// every scalar again (what the schema validator reads must be UTF-8).
void check_utf8(std::string_view value, int line) {
  size_t at = invalid_utf8_at(value);
  if (at == std::string_view::npos) return;
  char byte[8];
  std::snprintf(byte, sizeof byte, "0x%02x", static_cast<unsigned char>(value[at]));
  fail_at_line(line, std::string("a string is not valid UTF-8 (byte ") + byte + " at offset " +
                         std::to_string(at) + ")");
}

// libyaml's parser and its current event, freed whatever happens (a limit throws).
class LibYamlParser {
 public:
  explicit LibYamlParser(std::string_view text) : text_(text) {
    if (!yaml_parser_initialize(&parser_)) throw std::bad_alloc();
    yaml_parser_set_input_string(&parser_, reinterpret_cast<const unsigned char*>(text.data()),
                                 text.size());
  }
  ~LibYamlParser() {
    if (has_event_) yaml_event_delete(&event_);
    yaml_parser_delete(&parser_);
  }
  LibYamlParser(const LibYamlParser&) = delete;
  LibYamlParser& operator=(const LibYamlParser&) = delete;

  // The next event; a syntax error is a ParseFailure naming where it is.
  const yaml_event_t& next() {
    if (has_event_) yaml_event_delete(&event_);
    has_event_ = false;
    if (!yaml_parser_parse(&parser_, &event_)) fail();
    has_event_ = true;
    return event_;
  }

 private:
  [[noreturn]] void fail() const {
    ParseFailure f;
    std::string problem = parser_.problem ? parser_.problem : "the YAML cannot be read";
    if (parser_.error == YAML_READER_ERROR) {  // bytes that are not text: an offset, no mark
      f.line = line_at(text_, parser_.problem_offset);
      if (parser_.problem_value >= 0) {
        char byte[8];
        std::snprintf(byte, sizeof byte, "0x%02x", parser_.problem_value & 0xff);
        problem += std::string(" (byte ") + byte + ")";
      }
      f.message = problem + "; a manifest must be UTF-8 text";
      throw f;
    }
    f.line = line_of(parser_.problem_mark);
    f.column = static_cast<int>(parser_.problem_mark.column) + 1;
    f.message = escape_for_display(problem);
    if (parser_.context) {
      f.message += " (" + escape_for_display(parser_.context);
      if (parser_.context_mark.line != parser_.problem_mark.line ||
          parser_.context_mark.column != parser_.problem_mark.column) {
        f.message += " from line " + std::to_string(line_of(parser_.context_mark)) + ", column " +
                     std::to_string(parser_.context_mark.column + 1);
      }
      f.message += ")";
    }
    throw f;
  }

  std::string_view text_;
  yaml_parser_t parser_{};
  yaml_event_t event_{};
  bool has_event_ = false;
};

// The events of one document into the TreeBuilder; anchors by name, each definition a new id
// (a later "&a" hides an earlier one).
class YamlEventSink {
 public:
  explicit YamlEventSink(TreeBuilder* builder) : b_(builder) {}

  void start_document() { anchors_.clear(); }

  void on_event(const yaml_event_t& e) {
    const int line = line_of(e.start_mark);
    switch (e.type) {
      case YAML_ALIAS_EVENT: {
        auto it = anchors_.find(text(e.data.alias.anchor));
        if (it == anchors_.end()) {
          ParseFailure f;
          f.line = line;
          f.column = static_cast<int>(e.start_mark.column) + 1;
          f.message = "the referenced anchor " +
                      json_quoted(escape_for_display(text(e.data.alias.anchor))) +
                      " is not defined";
          throw f;
        }
        b_->alias(it->second, line);
        return;
      }
      case YAML_SCALAR_EVENT: {
        const auto& sc = e.data.scalar;
        std::string value(reinterpret_cast<const char*>(sc.value), sc.length);
        size_t anchor = define(sc.anchor);
        b_->check_scalar_size(value.size(), line);
        check_utf8(value, line);
        const bool plain = sc.style == YAML_PLAIN_SCALAR_STYLE && sc.tag == nullptr;
        if (plain && is_yaml_null(value)) {  // "a:", "a: ~": null, and as a key "null"
          b_->scalar(nullptr, "null", line, anchor, false);
          return;
        }
        // Tags as resolve_tagged takes them: "?" plain, "!" quoted or block, else explicit.
        std::string tag = sc.tag ? text(sc.tag) : (plain ? "?" : "!");
        b_->scalar(resolve_tagged(tag, value, line), value, line, anchor, plain);
        return;
      }
      case YAML_SEQUENCE_START_EVENT:
        b_->begin_collection(false, line, define(e.data.sequence_start.anchor));
        return;
      case YAML_MAPPING_START_EVENT:
        b_->begin_collection(true, line, define(e.data.mapping_start.anchor));
        return;
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT:
        b_->end_collection();
        return;
      default:
        return;
    }
  }

 private:
  static std::string text(const yaml_char_t* s) {
    return s ? std::string(reinterpret_cast<const char*>(s)) : std::string();
  }
  size_t define(const yaml_char_t* name) {
    if (!name) return 0;
    size_t id = ++last_id_;
    anchors_[text(name)] = id;
    return id;
  }

  TreeBuilder* b_;
  std::unordered_map<std::string, size_t> anchors_;
  size_t last_id_ = 0;
};

// What one part of a YAML text holds (the whole text being one part).
struct YamlPart {
  std::vector<Document> docs;  // numbered and lined within the part
  int documents = 0;           // empty ones included
  size_t nodes = 0;
};

YamlPart parse_yaml_part(std::string_view text, const ParseLimits& limits) {
  LibYamlParser parser(text);
  YamlPart part;
  TreeBuilder builder(limits, &part.nodes);
  YamlEventSink sink(&builder);
  for (;;) {
    const yaml_event_t& e = parser.next();
    if (e.type == YAML_STREAM_END_EVENT) break;
    if (e.type == YAML_DOCUMENT_START_EVENT) {
      builder.start_document(++part.documents);
      sink.start_document();
      continue;
    }
    if (e.type == YAML_DOCUMENT_END_EVENT) {
      json::value root = builder.take_root();
      if (!root.is_null()) {
        part.docs.push_back(Document{std::move(root), part.documents, builder.first_line()});
      }
      continue;
    }
    sink.on_event(e);
  }
  return part;
}

// A large text is cut into parts (yaml_split.h) read on threads of their own: the documents are
// the same, numbered and lined as in the whole text. When any part fails, or all together
// exceed the node limit, the whole text is read again on this thread, so that every error is
// exactly the one (and at the place) a single reading reports.
constexpr size_t kMinYamlPartBytes = 256 * 1024;

std::vector<Document> parse_yaml(std::string_view text, const ParseLimits& limits) {
  const size_t threads = std::min<size_t>(std::thread::hardware_concurrency(), 4);
  std::vector<size_t> cuts = yaml_cut_points(text, threads, kMinYamlPartBytes);
  if (cuts.empty()) return parse_yaml_part(text, limits).docs;
  cuts.insert(cuts.begin(), 0);
  std::vector<YamlPart> parts(cuts.size());
  std::vector<std::exception_ptr> failed(cuts.size());
  auto read_part = [&](size_t i) {
    size_t end = i + 1 < cuts.size() ? cuts[i + 1] : text.size();
    try {
      parts[i] = parse_yaml_part(text.substr(cuts[i], end - cuts[i]), limits);
    } catch (...) {
      failed[i] = std::current_exception();
    }
  };
  {
    std::vector<std::jthread> others;
    for (size_t i = 1; i < cuts.size(); ++i) others.emplace_back(read_part, i);
    read_part(0);
  }
  size_t nodes = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (failed[i]) return parse_yaml_part(text, limits).docs;
    nodes += parts[i].nodes;
  }
  if (nodes > limits.max_total_nodes) return parse_yaml_part(text, limits).docs;
  std::vector<Document> docs = std::move(parts[0].docs);
  int documents = parts[0].documents;
  for (size_t i = 1; i < parts.size(); ++i) {
    // yaml_cut_points cuts plain ASCII text only, where every line ends with '\n'.
    const int lines = static_cast<int>(std::count(text.begin(), text.begin() + cuts[i], '\n'));
    for (Document& d : parts[i].docs) {
      d.index += documents;
      if (d.line > 0) d.line += lines;
      docs.push_back(std::move(d));
    }
    documents += parts[i].documents;
  }
  return docs;
}

// ---------------------------------------------------------------------------------------------
// JSON through Boost.JSON's SAX parser, into the same TreeBuilder.

class JsonEventSink {
 public:
  // Names required by boost::json::basic_parser; sizes are limited by TreeBuilder instead.
  static constexpr std::size_t max_object_size = std::size_t(-1);  // NOLINT
  static constexpr std::size_t max_array_size = std::size_t(-1);   // NOLINT
  static constexpr std::size_t max_key_size = std::size_t(-1);     // NOLINT
  static constexpr std::size_t max_string_size = std::size_t(-1);  // NOLINT

  explicit JsonEventSink(TreeBuilder* builder) : b_(builder) {}

  // The limit failure that stopped the parse, if any.
  const std::optional<ParseFailure>& failure() const { return failure_; }

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_array_begin(json::error_code& ec) {
    return guard(ec, [&] { b_->begin_collection(false, 0, 0); });
  }
  bool on_array_end(std::size_t, json::error_code& ec) {
    return guard(ec, [&] { b_->end_collection(); });
  }
  bool on_object_begin(json::error_code& ec) {
    return guard(ec, [&] { b_->begin_collection(true, 0, 0); });
  }
  bool on_object_end(std::size_t, json::error_code& ec) {
    return guard(ec, [&] { b_->end_collection(); });
  }
  bool on_string_part(json::string_view s, std::size_t n, json::error_code& ec) {
    return guard(ec, [&] {
      b_->check_scalar_size(n, 0);
      buf_.append(s.data(), s.size());
    });
  }
  bool on_string(json::string_view s, std::size_t n, json::error_code& ec) {
    return guard(ec, [&] {
      b_->check_scalar_size(n, 0);
      buf_.append(s.data(), s.size());
      b_->scalar(json::string(buf_), {}, 0, 0, false);
      buf_.clear();
    });
  }
  bool on_key_part(json::string_view s, std::size_t n, json::error_code& ec) {
    return on_string_part(s, n, ec);
  }
  bool on_key(json::string_view s, std::size_t n, json::error_code& ec) {
    return guard(ec, [&] {
      b_->check_scalar_size(n, 0);
      buf_.append(s.data(), s.size());
      b_->key(std::move(buf_), 0, false);
      buf_.clear();
    });
  }
  bool on_number_part(json::string_view s, json::error_code&) {
    number_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, json::string_view, json::error_code& ec) {
    number_.clear();
    return guard(ec, [&] { b_->scalar(i, {}, 0, 0, false); });
  }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code& ec) {
    number_.clear();
    return guard(ec, [&] { b_->scalar(u, {}, 0, 0, false); });
  }
  bool on_double(double d, json::string_view s, json::error_code& ec) {
    number_.append(s.data(), s.size());
    // Boost.JSON's `d` may be rounded wrong; read as YAML reads it (1e400 is infinity there).
    std::optional<double> value = resolve_yaml_float(number_);
    number_.clear();
    return guard(ec, [&] { b_->scalar(value.value_or(d), {}, 0, 0, false); });
  }
  bool on_bool(bool b, json::error_code& ec) {
    return guard(ec, [&] { b_->scalar(b, {}, 0, 0, false); });
  }
  bool on_null(json::error_code& ec) {
    return guard(ec, [&] { b_->scalar(nullptr, {}, 0, 0, false); });
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  template <typename F>
  bool guard(json::error_code& ec, F&& f) {
    try {
      f();
      return true;
    } catch (const ParseFailure& e) {
      failure_ = e;
      ec = json::error::exception;
      return false;
    }
  }

  TreeBuilder* b_;
  std::string buf_;     // the string or key read so far
  std::string number_;  // the number read so far
  std::optional<ParseFailure> failure_;
};

// Parses `text` as one JSON value. Returns nullopt when it is not exactly one JSON value (the
// caller then reads it as YAML, which also yields the error message with a position); throws
// ParseFailure when a limit is exceeded.
std::optional<std::vector<Document>> parse_json(std::string_view text, const ParseLimits& limits,
                                                int first_line) {
  size_t total_nodes = 0;
  TreeBuilder builder(limits, &total_nodes);
  builder.start_document(1);
  json::parse_options opt;
  opt.max_depth = limits.max_depth + 1;  // TreeBuilder reports the depth limit first
  json::basic_parser<JsonEventSink> parser(opt, &builder);
  json::error_code ec;
  size_t used = parser.write_some(false, text.data(), text.size(), ec);
  if (const auto& failure = parser.handler().failure()) {
    ParseFailure f = *failure;
    if (f.line_unknown) f.line = line_at(text, used);
    throw f;
  }
  if (ec || !parser.done()) return std::nullopt;
  for (size_t i = used; i < text.size(); ++i) {
    char c = text[i];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return std::nullopt;
  }
  std::vector<Document> docs;
  docs.push_back(Document{builder.take_root(), 1, first_line});
  return docs;
}

std::vector<Document> parse_text(std::string_view text, const ParseLimits& limits) {
  size_t start = 0;
  if (text.starts_with("\xEF\xBB\xBF")) start = 3;  // UTF-8 byte order mark
  while (start < text.size() && (text[start] == ' ' || text[start] == '\t' || text[start] == '\n' ||
                                 text[start] == '\r')) {
    ++start;
  }
  if (start < text.size() && (text[start] == '{' || text[start] == '[')) {
    std::string_view body = text.substr(text.starts_with("\xEF\xBB\xBF") ? 3 : 0);
    if (auto docs = parse_json(body, limits, line_at(text, start))) return std::move(*docs);
  }
  return parse_yaml(text, limits);
}
}  // namespace

Result<std::vector<Document>> parse_manifest(std::string_view text, std::string_view source,
                                             const ParseLimits& limits) {
  std::string src = escape_for_display(source);
  if (text.size() > limits.max_bytes) {
    return Status::Invalid(src + ": file is " + std::to_string(text.size()) +
                           " bytes, larger than the limit of " + std::to_string(limits.max_bytes) +
                           " bytes");
  }
  try {
    return parse_text(text, limits);
  } catch (const ParseFailure& f) {
    return Status::Invalid(format_failure(src, f));
  } catch (const std::bad_alloc&) {
    return Status::Invalid(src + ": out of memory while parsing");
  } catch (const std::exception& e) {
    return Status::Invalid(src + ": " + escape_for_display(e.what()));
  }
}

Result<std::vector<Document>> read_manifest_file(const std::string& path,
                                                 const ParseLimits& limits) {
  namespace fs = std::filesystem;
  const std::string shown = escape_for_display(path);  // for messages
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) {
    if (ec && ec != std::errc::no_such_file_or_directory) {
      return Status::Invalid(shown + ": " + ec.message());
    }
    return Status::NotFound(shown + ": no such file");
  }
  if (fs::is_directory(st)) return Status::Invalid(shown + ": is a directory, not a file");
  if (fs::is_regular_file(st)) {
    uintmax_t size = fs::file_size(path, ec);
    if (!ec && size > limits.max_bytes) {
      return Status::Invalid(shown + ": file is " + std::to_string(size) +
                             " bytes, larger than the limit of " +
                             std::to_string(limits.max_bytes) + " bytes");
    }
  }
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Status::Invalid(shown + ": cannot open: " + std::generic_category().message(errno));
  // Read at most one byte past the limit: the file may have grown, or be a pipe.
  std::string text;
  char chunk[64 * 1024];
  while (in && text.size() <= limits.max_bytes) {
    in.read(chunk, sizeof chunk);
    text.append(chunk, static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) return Status::Invalid(shown + ": read failed");
  if (text.size() > limits.max_bytes) {
    return Status::Invalid(shown + ": file is larger than the limit of " +
                           std::to_string(limits.max_bytes) + " bytes");
  }
  return parse_manifest(text, path, limits);
}

}  // namespace cenv
