#pragma once
// Making user-provided text safe to put in a message or a log line.

#include <string>
#include <string_view>

namespace cenv {

// `s` with every character that would not show as itself escaped, so that a name, key, value
// or path from user input can go into an error message or a log line without breaking the
// line or hiding text: "\n", "\r" and "\t"; other C0 controls and DEL as "\xNN"; bytes that
// are not valid UTF-8 as "\xNN", one per byte; C1 controls, line and paragraph separators and
// invisible formatting characters (zero-width spaces, bidirectional overrides, the byte order
// mark) as "\uNNNN". Printable ASCII and valid, visible UTF-8 (e.g. "café", "名前") stay as
// they are, a backslash included: JSONPath expressions and selectors use it. Adds no
// surrounding quotes: callers put the result inside their own quotes or brackets.
std::string escape_for_display(std::string_view s);

// `s` without terminal control sequences (CSI: ESC '[' parameters and a final byte, as the
// colours Docker's build output wraps around a step's stderr), for a status message that quotes
// a program's output. Other bytes stay; an unterminated sequence at the end is dropped.
std::string strip_terminal_sequences(std::string_view s);

}  // namespace cenv
