// Runs the named suites (or all): identity-tests [SuiteName…]
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
#include <cppunit/TestRunner.h>
#include <cppunit/extensions/TestFactoryRegistry.h>

#include <iostream>

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

    CppUnit::TestRunner runner;
    if (argc == 1)
        runner.addTest(CppUnit::TestFactoryRegistry::getRegistry().makeTest());
    for (int i = 1; i < argc; ++i)
        runner.addTest(CppUnit::TestFactoryRegistry::getRegistry(argv[i]).makeTest());

    CppUnit::TestResult controller;
    CppUnit::TestResultCollector result;
    controller.addListener(&result);
    CppUnit::BriefTestProgressListener progress;
    controller.addListener(&progress);
    runner.run(controller);
    CppUnit::CompilerOutputter(&result, std::cerr).write();
    const int failed = result.testFailuresTotal();
    std::cout << (result.runTests() - failed) << " passed, " << failed << " failed" << std::endl;
    return result.wasSuccessful() && result.runTests() > 0 ? 0 : 1;
}
