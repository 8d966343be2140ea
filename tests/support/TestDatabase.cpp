#include "support/TestDatabase.h"

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/Session.h>
#include <Poco/Environment.h>
#include <Poco/FileStream.h>
#include <Poco/JSON/Parser.h>
#include <Poco/UUIDGenerator.h>

#include <algorithm>

#include "storage/Database.h"

namespace identity::test
{

namespace
{
std::string adminConnection()
{
    // Quiet: DROP SCHEMA ... CASCADE lists every table it drops as a NOTICE on stderr.
    return host::Database::postgresConnectionString(TestDatabase::postgresBase() +
                                                    "/identity_test?options=-cclient_min_messages%3Dwarning");
}
} // namespace

bool TestDatabase::postgresConfigured()
{
    return !Poco::Environment::get("IDENTITY_TEST_POSTGRES_STATE", "").empty();
}

std::string TestDatabase::postgresBase()
{
    const std::string state = Poco::Environment::get("IDENTITY_TEST_POSTGRES_STATE", "");
    if (state.empty())
        return {};
    Poco::FileInputStream in(state);
    Poco::JSON::Parser parser;
    return parser.parse(in).extract<Poco::JSON::Object::Ptr>()->getValue<std::string>("url_base");
}

TestDatabase::TestDatabase(const std::string& folder)
{
    if (!postgresConfigured())
    {
        _url = "sqlite:" + folder + "/identity.db";
        return;
    }
    std::string id = Poco::UUIDGenerator::defaultGenerator().createRandom().toString();
    id.erase(std::remove(id.begin(), id.end(), '-'), id.end());
    _schema = "t_" + id;
    Poco::Data::PostgreSQL::Connector::registerConnector();
    Poco::Data::Session admin(Poco::Data::PostgreSQL::Connector::KEY, adminConnection());
    admin << "CREATE SCHEMA " + _schema, Poco::Data::Keywords::now;
    // Every connection of the host under test sees only this schema.
    _url = postgresBase() + "/identity_test?options=-csearch_path%3D" + _schema;
}

TestDatabase::~TestDatabase()
{
    if (_schema.empty())
        return;
    try
    {
        Poco::Data::Session admin(Poco::Data::PostgreSQL::Connector::KEY, adminConnection());
        admin << "DROP SCHEMA " + _schema + " CASCADE", Poco::Data::Keywords::now;
    }
    catch (...)
    {
        // The server goes away with the test run anyway.
    }
}

} // namespace identity::test
