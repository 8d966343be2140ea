#pragma once

#include <atomic>
#include <memory>

namespace identity::host
{

/// An immutable value being served, swapped for a new one atomically: readers take the current one
/// and keep it (and whatever it holds alive) for as long as they use it.
template <typename T> class Snapshot
{
public:
    Snapshot() : _value(std::make_shared<const T>()) {}

    std::shared_ptr<const T> current() const { return std::atomic_load(&_value); }
    void publish(std::shared_ptr<const T> value) { std::atomic_store(&_value, std::move(value)); }

private:
    std::shared_ptr<const T> _value;
};

} // namespace identity::host
