#include "storage/SqlScript.h"

#include <Poco/Exception.h>
#include <Poco/String.h>

#include <sqlite3.h>

#include <cctype>

#include <algorithm>

namespace identity::host
{

namespace
{

bool isTagStart(char c)
{
    const auto u = static_cast<unsigned char>(c);
    return (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || u == '_' || u >= 0x80;
}

bool isTagChar(char c)
{
    return isTagStart(c) || (c >= '0' && c <= '9');
}

/// A character that may continue an unquoted identifier, keyword or number: a '$' after one of these is
/// part of the word (`foo$bar`), never the start of a dollar quote.
bool isWordChar(char c)
{
    return isTagChar(c) || c == '$';
}

bool isSpace(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

[[noreturn]] void unterminated(const std::string& what, int line)
{
    throw Poco::DataFormatException("SQL script: unterminated " + what + " starting on line " +
                                    std::to_string(line));
}

class Splitter
{
public:
    explicit Splitter(const std::string& script) : _script(script) {}

    std::vector<std::string> run()
    {
        while (_pos < _script.size())
        {
            const char c = _script[_pos];
            const char next = _pos + 1 < _script.size() ? _script[_pos + 1] : '\0';
            if (c == ';')
            {
                finishStatement();
                ++_pos;
            }
            else if (c == '\n')
            {
                ++_line;
                ++_pos;
            }
            else if (isSpace(c))
            {
                ++_pos;
            }
            else if (c == '-' && next == '-')
            {
                skipLineComment();
            }
            else if (c == '/' && next == '*')
            {
                skipBlockComment();
            }
            else
            {
                const std::size_t begin = _pos;
                skipToken();
                markCode(begin, _pos);
            }
        }
        finishStatement();
        return std::move(_statements);
    }

private:
    /// Records that [begin, end) is part of the current statement's text (not whitespace or comment).
    void markCode(std::size_t begin, std::size_t end)
    {
        if (!_inStatement)
        {
            _start = begin;
            _inStatement = true;
        }
        _end = end;
    }

    void finishStatement()
    {
        if (_inStatement)
            _statements.push_back(_script.substr(_start, _end - _start));
        _inStatement = false;
    }

    bool atWordBoundary() const { return _pos == 0 || !isWordChar(_script[_pos - 1]); }

    /// Skips one token that is not whitespace, a comment or ';': a quoted construct or a single character.
    void skipToken()
    {
        const char c = _script[_pos];
        const char next = _pos + 1 < _script.size() ? _script[_pos + 1] : '\0';
        if (c == '\'')
            skipQuoted('\'', false, "string");
        else if (c == '"')
            skipQuoted('"', false, "quoted identifier");
        else if ((c == 'E' || c == 'e') && next == '\'' && atWordBoundary())
        {
            ++_pos;
            skipQuoted('\'', true, "escape string");
        }
        else if (c == '$' && atWordBoundary() && dollarTagLength() > 0)
            skipDollarQuoted();
        else
            ++_pos;
    }

    void skipLineComment()
    {
        const std::size_t newline = _script.find('\n', _pos);
        _pos = newline == std::string::npos ? _script.size() : newline;
    }

    void skipBlockComment()
    {
        const int startLine = _line;
        int depth = 0;
        while (_pos < _script.size())
        {
            const char c = _script[_pos];
            const char next = _pos + 1 < _script.size() ? _script[_pos + 1] : '\0';
            if (c == '/' && next == '*')
            {
                ++depth;
                _pos += 2;
            }
            else if (c == '*' && next == '/')
            {
                _pos += 2;
                if (--depth == 0)
                    return;
            }
            else
            {
                if (c == '\n')
                    ++_line;
                ++_pos;
            }
        }
        unterminated("block comment", startLine);
    }

    /// Skips a string or identifier opened by `quote` at _pos; a doubled quote stands for one, and with
    /// `backslashEscapes` a backslash escapes the character after it.
    void skipQuoted(char quote, bool backslashEscapes, const std::string& what)
    {
        const int startLine = _line;
        ++_pos;
        while (_pos < _script.size())
        {
            const char c = _script[_pos];
            if (c == '\n')
                ++_line;
            if (c == quote)
            {
                if (_pos + 1 < _script.size() && _script[_pos + 1] == quote)
                {
                    _pos += 2;
                    continue;
                }
                ++_pos;
                return;
            }
            if (backslashEscapes && c == '\\' && _pos + 1 < _script.size())
            {
                if (_script[_pos + 1] == '\n')
                    ++_line;
                _pos += 2;
                continue;
            }
            ++_pos;
        }
        unterminated(what, startLine);
    }

    /// The length of the dollar-quote delimiter (`$$` or `$tag$`) at _pos, or 0 if there is none there
    /// (e.g. the placeholder `$1`).
    std::size_t dollarTagLength() const
    {
        std::size_t i = _pos + 1;
        if (i < _script.size() && isTagStart(_script[i]))
        {
            ++i;
            while (i < _script.size() && isTagChar(_script[i]))
                ++i;
        }
        if (i < _script.size() && _script[i] == '$')
            return i + 1 - _pos;
        return 0;
    }

    void skipDollarQuoted()
    {
        const int startLine = _line;
        const std::string delimiter = _script.substr(_pos, dollarTagLength());
        const std::size_t bodyStart = _pos + delimiter.size();
        const std::size_t close = _script.find(delimiter, bodyStart);
        if (close == std::string::npos)
            unterminated("dollar-quoted string " + delimiter, startLine);
        const std::size_t after = close + delimiter.size();
        _line += static_cast<int>(std::count(_script.begin() + static_cast<std::ptrdiff_t>(_pos),
                                             _script.begin() + static_cast<std::ptrdiff_t>(after), '\n'));
        _pos = after;
    }

    const std::string& _script;
    std::vector<std::string> _statements;
    std::size_t _pos = 0;
    int _line = 1;
    bool _inStatement = false;
    std::size_t _start = 0;
    std::size_t _end = 0;
};

} // namespace

std::vector<std::string> splitSqlScript(const std::string& script)
{
    return Splitter(script).run();
}

namespace
{
/// True when a text SQLite has called complete holds no statement: only whitespace, `--` and (unnested)
/// `/* */` comments and semicolons. A quote or any other character starts a token.
bool holdsNoStatement(const std::string& text)
{
    std::size_t i = 0;
    while (i < text.size())
    {
        const char c = text[i];
        if (c == ';' || std::isspace(static_cast<unsigned char>(c)))
            ++i;
        else if (c == '-' && i + 1 < text.size() && text[i + 1] == '-')
            i = std::min(text.find('\n', i), text.size());
        else if (c == '/' && i + 1 < text.size() && text[i + 1] == '*')
        {
            const std::size_t end = text.find("*/", i + 2);
            i = end == std::string::npos ? text.size() : end + 2;
        }
        else
            return false;
    }
    return true;
}
} // namespace

std::vector<std::string> splitSqliteScript(const std::string& script)
{
    std::vector<std::string> statements;
    std::string current;
    for (char c : script)
    {
        current += c;
        if (c != ';' || !::sqlite3_complete(current.c_str()))
            continue;
        if (!holdsNoStatement(current)) // SQLite reports a bare ";" as complete too
            statements.push_back(Poco::trim(current));
        current.clear();
    }
    if (!holdsNoStatement(current))
    {
        if (!::sqlite3_complete((current + ";").c_str()))
            throw Poco::DataFormatException("SQL script: the last statement is incomplete");
        statements.push_back(Poco::trim(current));
    }
    return statements;
}

} // namespace identity::host
