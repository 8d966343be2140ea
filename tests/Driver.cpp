// Runs the named suites or tests (or all): identity-tests [SuiteName | SuiteName::testName …]
#include "support/TestServer.h"

#include "app/JsonLogFormatter.h"

#include <Poco/AutoPtr.h>
#include <Poco/File.h>
#include <Poco/FileChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>

#include <cppunit/BriefTestProgressListener.h>
#include <cppunit/CompilerOutputter.h>
#include <cppunit/TestResult.h>
#include <cppunit/TestResultCollector.h>
#include <cppunit/TestSuite.h>
#include <cppunit/extensions/TestFactoryRegistry.h>

#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

int main(int argc, char** argv)
{
    // Server logs of this run go where the log hygiene check will read them.
    const std::string suiteName = argc > 1 ? argv[1] : "all";
    Poco::File(identity::test::logDirectory()).createDirectories();
    Poco::AutoPtr<Poco::FileChannel> file(
        new Poco::FileChannel(identity::test::logDirectory() + "/" + suiteName + ".log"));
    Poco::AutoPtr<Poco::FormattingChannel> channel(
        new Poco::FormattingChannel(new identity::host::JsonLogFormatter, file));
    Poco::Logger::root().setChannel(channel);
    Poco::Logger::root().setLevel("debug");

    // The suites made own their tests; `selected` are those to run, whole suites or one test of one.
    CppUnit::TestSuite made("identity-tests");
    std::vector<CppUnit::Test*> selected;
    if (argc == 1)
    {
        made.addTest(CppUnit::TestFactoryRegistry::getRegistry().makeTest());
        selected.push_back(&made);
    }
    for (int i = 1; i < argc; ++i)
    {
        const std::string name = argv[i];
        const auto separator = name.find("::");
        CppUnit::Test* suite = CppUnit::TestFactoryRegistry::getRegistry(name.substr(0, separator)).makeTest();
        made.addTest(suite);
        try
        {
            selected.push_back(separator == std::string::npos ? suite : suite->findTest(name));
        }
        catch (const std::invalid_argument&)
        {
            std::cerr << "no test named " << name << std::endl;
            return 1;
        }
    }

    CppUnit::TestResult controller;
    CppUnit::TestResultCollector result;
    controller.addListener(&result);
    CppUnit::BriefTestProgressListener progress;
    controller.addListener(&progress);
    for (CppUnit::Test* test : selected)
        controller.runTest(test);
    CppUnit::CompilerOutputter(&result, std::cerr).write();
    const int failed = result.testFailuresTotal();
    std::cout << (result.runTests() - failed) << " passed, " << failed << " failed" << std::endl;
    return result.wasSuccessful() && result.runTests() > 0 ? 0 : 1;
}
