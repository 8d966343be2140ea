#pragma once

#include "http/RouteTable.h"

#include <memory>

namespace identity::host
{

/// Holds the route table being served and swaps in a new one atomically.
class Dispatcher
{
public:
    Dispatcher() : _table(std::make_shared<const RouteTable>()) {}

    std::shared_ptr<const RouteTable> current() const { return std::atomic_load(&_table); }
    void publish(std::shared_ptr<const RouteTable> table) { std::atomic_store(&_table, std::move(table)); }

private:
    std::shared_ptr<const RouteTable> _table;
};

} // namespace identity::host
