/** Every workflow the control worker registers. */
export { deviceSessionWorkflow } from './device-session';
export { fleetReconcileWorkflow } from './fleet-reconcile';
export { storageMaintenanceWorkflow } from './storage-maintenance';
export { deviceProbeWorkflow } from './device-probe';
export { alertRuleWorkflow } from './alert-rule';
export { alertReconcileWorkflow } from './alert-reconcile';
