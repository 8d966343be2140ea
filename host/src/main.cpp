#include "app/HostApplication.h"

#include <iostream>

POCO_SERVER_MAIN(identity::host::HostApplication)
