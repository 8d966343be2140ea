// One plugin source, built several times (tests/CMakeLists.txt): the builds a developer's edits
// produce, good and broken, for the reload tests. Every build exports the same class, `CounterPlugin`,
// so any of them can replace any other behind one manifest.
//
//   COUNTER_BUILD=N        GET /counter/build answers {"build": N}: tells which build serves
//   COUNTER_THROWS         start() throws
//   COUNTER_MISSING_SYMBOL calls a function no library defines (linked without --no-undefined)
//   COUNTER_FUTURE_SDK     reports the next SDK major version (4.0 today) in its handshake
//   COUNTER_HOST_MESSAGE   redefines a message key of the host's
//   (variant "exported")   the same code built without hidden visibility and the version script
#include "identity/sdk/ApiError.h"
#include "identity/sdk/Plugin.h"

#include <stdexcept>

#ifdef COUNTER_MISSING_SYMBOL
extern "C" int counterFunctionNoLibraryDefines();
#endif

class CounterPlugin : public identity::sdk::Plugin
{
public:
    void start(identity::sdk::PluginContext& context) override
    {
        context.addMessage("counter_busy", "Counter build " COUNTER_BUILD_TEXT " is busy", "计数器忙");
#ifdef COUNTER_HOST_MESSAGE
        context.addMessage("invalid_argument", "Overridden", "覆盖");
#endif
        context.addRoute({"GET", "/counter/build", identity::sdk::Route::Auth::None,
                          [](const identity::sdk::Request&, identity::sdk::Response& response) {
#ifdef COUNTER_MISSING_SYMBOL
                              response.body->set("build", counterFunctionNoLibraryDefines());
#else
                              response.body->set("build", COUNTER_BUILD);
#endif
                          }});
        context.addRoute({"GET", "/counter/busy", identity::sdk::Route::Auth::None,
                          [](const identity::sdk::Request&, identity::sdk::Response&) {
                              throw identity::sdk::ApiError::unavailable("counter_busy");
                          }});
#ifdef COUNTER_THROWS
        throw std::runtime_error("counter build " COUNTER_BUILD_TEXT " refuses to start");
#endif
    }

    void stop() override {}
};

#ifdef COUNTER_FUTURE_SDK
POCO_BEGIN_MANIFEST(identity::sdk::Plugin)
POCO_EXPORT_CLASS(CounterPlugin)
POCO_END_MANIFEST

extern "C" __attribute__((visibility("default"))) unsigned identityPluginSdkVersion() { return (IDENTITY_SDK_VERSION_MAJOR + 1u) << 16; }
#else
IDENTITY_PLUGIN(CounterPlugin)
#endif
