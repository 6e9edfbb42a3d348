/** MariaDB (the MySQL engine) refused and frozen: see database-suite.ts. */
import { available, startThrowawayMariadb } from "../support/throwaway-mariadb.js";
import { faultSuite } from "./database-suite.js";

faultSuite({ name: "MariaDB", missing: available(), start: startThrowawayMariadb });
