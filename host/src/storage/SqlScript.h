#pragma once

#include <string>
#include <vector>

namespace identity::host
{

/// Splits an SQL script into its statements, without their final ';', trimmed, skipping empty ones and
/// ones that are only comments. Understands -- line comments, /* */ block comments (nested, as in
/// PostgreSQL), '...' strings with '' escapes, E'...' strings with backslash escapes, "..." identifiers,
/// and dollar-quoted strings ($$...$$, $tag$...$tag$) in which ';' does not end a statement. `$1` is a
/// placeholder, not a dollar quote. Throws Poco::DataFormatException naming the line on an unterminated
/// string, identifier, comment or dollar quote.
///
/// Comments before a statement's first token and after its last one are left out of its text; comments
/// between its tokens are kept. Poco's connectors prepare one statement at a time, hence the split.
/// This is PostgreSQL's grammar; SQLite's `CREATE TRIGGER ... BEGIN ...; END` bodies are not recognised
/// (use splitSqliteScript for SQLite).
std::vector<std::string> splitSqlScript(const std::string& script);

/// Splits an SQL script the way SQLite itself reads it: a statement ends at the first ';' after which
/// `sqlite3_complete()` says the text so far is complete, so trigger bodies, strings and comments hold
/// their ';'. Statements made only of comments are dropped. Throws Poco::DataFormatException for a
/// script whose last statement is incomplete.
std::vector<std::string> splitSqliteScript(const std::string& script);

} // namespace identity::host
