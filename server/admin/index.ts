/**
 * The admin commands of `tumblerd`, registered on the program built by server/main.ts:
 * migrate, user, device, grants, audit, doctor, stop, status, backup, restore. This file and the command definitions load
 * nothing heavy: SQLite, crypto and the firewall backend are imported inside the actions, so
 * `tumblerd run` (the privileged monitor) never loads them through here.
 * Errors print as "tumblerd: <message> (<CODE>)" with the exit codes of ./exit.ts.
 */
import type { Command } from 'commander';
import { registerAuditCommand } from './audit.js';
import { registerBackupCommands } from './backup.js';
import { registerDeviceCommands } from './devices.js';
import { registerDoctor } from './doctor.js';
import { registerGrantCommands } from './grants.js';
import { registerMaintenanceCommands } from './maintenance.js';
import { registerStatusCommand } from './status.js';
import { registerUserCommands } from './users.js';

export function registerAdminCommands(program: Command, configPath: () => string): void {
  registerMaintenanceCommands(program, configPath);
  registerUserCommands(program, configPath);
  registerDeviceCommands(program, configPath);
  registerGrantCommands(program, configPath);
  registerAuditCommand(program, configPath);
  registerDoctor(program, configPath);
  registerStatusCommand(program);
  registerBackupCommands(program, configPath);
}
