/** PostgreSQL refused and frozen: see database-suite.ts. */
import { available, startThrowawayPostgres } from "../support/throwaway-postgres.js";
import { faultSuite } from "./database-suite.js";

faultSuite({ name: "PostgreSQL", missing: available(), start: startThrowawayPostgres });
