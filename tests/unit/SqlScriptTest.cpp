#include "storage/SqlScript.h"

#include <Poco/Exception.h>

#include <cppunit/extensions/HelperMacros.h>

#include <string>
#include <vector>

using namespace identity::host;

namespace
{
/// The statements one per block, so that a failed comparison shows where the split went wrong.
std::string join(const std::vector<std::string>& statements)
{
    std::string out = std::to_string(statements.size()) + " statement(s)";
    for (const std::string& statement : statements)
        out += "\n[" + statement + "]";
    return out;
}

void assertSplit(const std::vector<std::string>& expected, const std::string& script)
{
    CPPUNIT_ASSERT_EQUAL(join(expected), join(splitSqlScript(script)));
}

/// The message of the Poco::DataFormatException that splitting `script` throws; fails if it throws none.
std::string splitError(const std::string& script)
{
    try
    {
        splitSqlScript(script);
    }
    catch (const Poco::DataFormatException& e)
    {
        return e.message();
    }
    CPPUNIT_FAIL("expected a Poco::DataFormatException");
    return {};
}

void assertMentions(const std::string& message, const std::string& part)
{
    CPPUNIT_ASSERT_MESSAGE("\"" + message + "\" should mention \"" + part + "\"",
                           message.find(part) != std::string::npos);
}
} // namespace

class SqlScriptTest : public CppUnit::TestFixture
{
    CPPUNIT_TEST_SUITE(SqlScriptTest);
    CPPUNIT_TEST(testPlainStatementsSplit);
    CPPUNIT_TEST(testSemicolonInStringDoesNotSplit);
    CPPUNIT_TEST(testSemicolonInQuotedIdentifierDoesNotSplit);
    CPPUNIT_TEST(testSemicolonInCommentsDoesNotSplit);
    CPPUNIT_TEST(testDollarQuotedBodiesStayWhole);
    CPPUNIT_TEST(testPlaceholdersAreNotDollarQuotes);
    CPPUNIT_TEST(testEscapeStringTakesBackslashEscapes);
    CPPUNIT_TEST(testLastStatementNeedsNoSemicolon);
    CPPUNIT_TEST(testOnlyCommentsGiveNoStatements);
    CPPUNIT_TEST(testUnterminatedStringThrowsNamingItsLine);
    CPPUNIT_TEST(testUnterminatedQuotedIdentifierThrowsNamingItsLine);
    CPPUNIT_TEST(testUnterminatedDollarQuoteThrowsNamingItsLine);
    CPPUNIT_TEST(testUnterminatedBlockCommentThrowsNamingItsLine);
    CPPUNIT_TEST_SUITE_END();

public:
    void testPlainStatementsSplit()
    {
        assertSplit({"CREATE TABLE a (x INT)", "INSERT INTO a VALUES (1)", "SELECT 1", "SELECT 2"},
                    "CREATE TABLE a (x INT);\n"
                    "\n"
                    "   INSERT INTO a VALUES (1) ;\n"
                    ";;\n"
                    "SELECT 1; SELECT 2;\n");
    }

    void testSemicolonInStringDoesNotSplit()
    {
        assertSplit({"INSERT INTO a VALUES ('x; y')", "INSERT INTO a VALUES ('it''s; fine', '')",
                     "INSERT INTO a VALUES ('two;\nlines')", "SELECT 'C:\\'", "SELECT 2"},
                    "INSERT INTO a VALUES ('x; y');\n"
                    "INSERT INTO a VALUES ('it''s; fine', '');\n"
                    "INSERT INTO a VALUES ('two;\nlines');\n"
                    "SELECT 'C:\\';\n" // a backslash escapes nothing in a standard string
                    "SELECT 2;\n");
    }

    void testSemicolonInQuotedIdentifierDoesNotSplit()
    {
        assertSplit({"CREATE TABLE \"odd;name\" (\"say \"\"hi\"\"; now\" TEXT)", "SELECT 1"},
                    "CREATE TABLE \"odd;name\" (\"say \"\"hi\"\"; now\" TEXT);\nSELECT 1;");
    }

    void testSemicolonInCommentsDoesNotSplit()
    {
        assertSplit({"SELECT 1 -- not the end; really\n     , 2",
                     "SELECT /* one; /* nested; */ still a comment; */ 3", "SELECT 4", "SELECT 5"},
                    "SELECT 1 -- not the end; really\n"
                    "     , 2;\n"
                    "SELECT /* one; /* nested; */ still a comment; */ 3;\n"
                    "-- a heading; with a semicolon, is not a statement of its own\n"
                    "SELECT 4 /* trailing; comment */;\n"
                    "/* 'quotes' and \"quotes\" and $$ in a comment are not opened */ SELECT 5;\n");
    }

    void testDollarQuotedBodiesStayWhole()
    {
        const std::string function = "CREATE OR REPLACE FUNCTION touch_updated_at() RETURNS trigger AS $$\n"
                                     "BEGIN\n"
                                     "    -- it's not lexed in here; nor is 'this\n"
                                     "    NEW.updated_at := now();\n"
                                     "    RETURN NEW;\n"
                                     "END;\n"
                                     "$$ LANGUAGE plpgsql";
        const std::string block =
            "DO $body$\n"
            "BEGIN\n"
            "    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'identity') THEN\n"
            "        CREATE ROLE identity;\n"
            "    END IF;\n"
            "    RAISE NOTICE $$done; $ok$ stays inside$$;\n"
            "END\n"
            "$body$";
        const std::string trigger = "CREATE TRIGGER users_touch BEFORE UPDATE ON users\n"
                                    "    FOR EACH ROW EXECUTE FUNCTION touch_updated_at()";
        assertSplit({function, block, trigger}, function + ";\n\n" + block + ";\n\n" + trigger + ";\n");
    }

    void testPlaceholdersAreNotDollarQuotes()
    {
        assertSplit({"INSERT INTO schema_migrations(version, name, applied_at) VALUES ($1, $2, $3)",
                     "SELECT a$b$ FROM t$x$ WHERE c = $2", "SELECT 2"},
                    "INSERT INTO schema_migrations(version, name, applied_at) VALUES ($1, $2, $3);\n"
                    "SELECT a$b$ FROM t$x$ WHERE c = $2;\n" // '$' inside a name opens nothing
                    "SELECT 2;\n");
    }

    void testEscapeStringTakesBackslashEscapes()
    {
        assertSplit({"INSERT INTO a VALUES (E'it\\'s; fine')", "SELECT e'back\\\\', 'x'", "SELECT 3"},
                    "INSERT INTO a VALUES (E'it\\'s; fine');\n"
                    "SELECT e'back\\\\', 'x';\n"
                    "SELECT 3;\n");
    }

    void testLastStatementNeedsNoSemicolon()
    {
        assertSplit({"CREATE TABLE a (x INT)", "CREATE TABLE b (y INT)"},
                    "CREATE TABLE a (x INT);\nCREATE TABLE b (y INT)\n-- the end\n");
        assertSplit({"SELECT 1"}, "SELECT 1");
    }

    void testOnlyCommentsGiveNoStatements()
    {
        assertSplit({}, "");
        assertSplit({}, "-- nothing here\n/* nor; /* here */ */\n   ;\n;-- nor here");
    }

    void testUnterminatedStringThrowsNamingItsLine()
    {
        const std::string message = splitError("CREATE TABLE a (x TEXT);\n"
                                               "INSERT INTO a VALUES ('two\n"
                                               "lines');\n"
                                               "INSERT INTO a VALUES ('never closed);\n"
                                               "SELECT 1;\n");
        assertMentions(message, "string");
        assertMentions(message, "line 4");
        assertMentions(splitError("SELECT 1;\nSELECT E'closed only by an escaped quote\\';\n"), "line 2");
    }

    void testUnterminatedQuotedIdentifierThrowsNamingItsLine()
    {
        assertMentions(splitError("SELECT 1;\n\nSELECT \"open FROM t;\n"), "line 3");
    }

    void testUnterminatedDollarQuoteThrowsNamingItsLine()
    {
        const std::string message = splitError("SELECT 1;\n"
                                               "CREATE FUNCTION f() RETURNS int AS $fn$\n"
                                               "BEGIN RETURN 1; END;\n"
                                               "$$ LANGUAGE plpgsql;\n");
        assertMentions(message, "$fn$");
        assertMentions(message, "line 2");
    }

    void testUnterminatedBlockCommentThrowsNamingItsLine()
    {
        const std::string message = splitError("SELECT 1;\n"
                                               "/* outer\n"
                                               "/* inner */\n"
                                               "SELECT 2; -- the outer comment never closes\n");
        assertMentions(message, "comment");
        assertMentions(message, "line 2");
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(SqlScriptTest, "SqlScriptTest");
